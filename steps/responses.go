package steps

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
)

// Steps about what the gateway answers.
func registerResponseSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the gateway answers (\d+)$`, answers)
	sc.Step(`^the gateway answers (\d+) with problem details$`, answersProblem)
	sc.Step(`^the gateway answers 503 with a Retry-After header$`, answersUnavailable)
	sc.Step(`^the response reports (.+)$`, responseReports)
	sc.Step(`^the response allows only "([^"]+)"$`, responseAllows)
	sc.Step(`^every answer after the first is (\d+)$`, everyAnswerAfterFirst)
	sc.Step(`^exactly one of the answers is 201 and the others are 202$`, exactlyOneCreated)
	sc.Step(`^the gateway answered 503 at least once before accepting the batch$`, answered503ThenAccepted)
}

func answers(ctx context.Context, code int) error {
	resp, err := state(ctx).lastResponse()
	if err != nil {
		return err
	}
	if resp.code != code {
		return fmt.Errorf("expected the gateway to answer %d, but it answered %s", code, resp)
	}
	if code < 300 && (resp.parseErr != nil || !strings.HasPrefix(resp.header.Get("Content-Type"), "application/json") || len(resp.results.Results) == 0) {
		return fmt.Errorf("the answer %d is not the documented JSON result list (Content-Type %q, %v): %s", code, resp.header.Get("Content-Type"), resp.parseErr, resp)
	}
	if got := resp.header.Get("X-Request-ID"); got != resp.requestID {
		return fmt.Errorf("the gateway answered with X-Request-ID %q, not the %q the sender gave", got, resp.requestID)
	}
	return nil
}

// answersProblem checks RFC 7807 problem details: every member present and consistent.
func answersProblem(ctx context.Context, code int) error {
	if err := answers(ctx, code); err != nil {
		return err
	}
	resp, _ := state(ctx).lastResponse()
	p := resp.problem
	switch {
	case p == nil:
		return fmt.Errorf("expected application/problem+json, got Content-Type %q: %s", resp.header.Get("Content-Type"), resp)
	case resp.parseErr != nil:
		return fmt.Errorf("the problem details do not parse: %v: %s", resp.parseErr, resp)
	case p.Status != code:
		return fmt.Errorf("the problem's status is %d but the answer was %d", p.Status, code)
	case p.Type == "" || p.Title == "" || p.Detail == "" || p.Instance == "":
		return fmt.Errorf("the problem details lack type, title, detail or instance: %s", resp)
	case p.RequestID != resp.requestID:
		return fmt.Errorf("the problem's requestId %q is not the %q the sender gave", p.RequestID, resp.requestID)
	}
	return nil
}

func answersUnavailable(ctx context.Context) error {
	if err := answersProblem(ctx, 503); err != nil {
		return err
	}
	resp, _ := state(ctx).lastResponse()
	ra := resp.header.Get("Retry-After")
	if n, err := strconv.Atoi(ra); err != nil || n < 1 {
		return fmt.Errorf("a 503 must tell the sender when to come back, but Retry-After is %q", ra)
	}
	return nil
}

var reportPart = regexp.MustCompile(`^(\d+) (created|duplicate|ignored)$`)

// responseReports checks the per-alert results, e.g. "1 created and 1 duplicate", exactly: every
// status not named must not occur. A trailing "in the fallback namespace" checks where they went.
func responseReports(ctx context.Context, text string) error {
	st := state(ctx)
	resp, err := st.lastResponse()
	if err != nil {
		return err
	}
	wantNS := ""
	if rest, ok := strings.CutSuffix(text, " in the fallback namespace"); ok {
		text, wantNS = rest, st.h.Settings.FallbackNamespace
	}
	want := map[string]int{}
	for _, part := range strings.Split(text, " and ") {
		m := reportPart.FindStringSubmatch(strings.TrimSpace(part))
		if m == nil {
			return fmt.Errorf("cannot read %q: write e.g. '2 created and 1 ignored'", text)
		}
		want[m[2]], _ = strconv.Atoi(m[1])
	}
	if len(resp.results.Results) == 0 {
		return fmt.Errorf("the answer lists no results: %s", resp)
	}
	got := map[string]int{}
	for _, r := range resp.results.Results {
		got[r.Status]++
		if wantNS != "" && r.Namespace != wantNS {
			return fmt.Errorf("expected the result for %q in namespace %s, got %s", r.Alertname, wantNS, r.Namespace)
		}
	}
	for _, status := range []string{"created", "duplicate", "ignored"} {
		if got[status] != want[status] {
			return fmt.Errorf("expected %s, but the results were %v: %s", text, got, resp)
		}
	}
	return nil
}

func responseAllows(ctx context.Context, allow string) error {
	resp, err := state(ctx).lastResponse()
	if err != nil {
		return err
	}
	if got := resp.header.Get("Allow"); got != allow {
		return fmt.Errorf("expected the Allow header %q, got %q", allow, got)
	}
	return nil
}

func everyAnswerAfterFirst(ctx context.Context, code int) error {
	all := state(ctx).allResponses()
	if len(all) < 2 {
		return fmt.Errorf("expected several answers, got %d", len(all))
	}
	for i, r := range all[1:] {
		if r.code != code {
			return fmt.Errorf("answer %d of %d was %s, expected %d", i+2, len(all), r, code)
		}
	}
	return nil
}

func exactlyOneCreated(ctx context.Context) error {
	counts := map[int]int{}
	for _, r := range state(ctx).allResponses() {
		counts[r.code]++
	}
	if counts[201] != 1 || len(counts) > 2 || (len(counts) == 2 && counts[202] == 0) {
		return fmt.Errorf("expected one 201 and the rest 202, got answers by code %v", counts)
	}
	return nil
}

func answered503ThenAccepted(ctx context.Context) error {
	all := state(ctx).allResponses()
	if len(all) < 2 || all[0].code != 503 {
		return fmt.Errorf("expected a 503 before the batch was accepted, but the answers were %v", codes(all))
	}
	if last := all[len(all)-1]; last.code != 201 {
		return fmt.Errorf("expected the batch to be accepted with 201 in the end, but the answers were %v", codes(all))
	}
	return nil
}

func codes(rs []*response) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.code
	}
	return out
}
