package steps

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
)

// Steps about what the gateway answers. Every answer is checked against the contract in full, not
// only for its status: its media type, the request ID, the problem type of its status, the
// headers its status requires, and its arrival within the request deadline.
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
	st := state(ctx)
	resp, err := st.lastResponse()
	if err != nil {
		return err
	}
	if resp.code != code {
		return fmt.Errorf("expected the gateway to answer %d, but it answered %s", code, resp)
	}
	return st.checkAnswer(resp)
}

// checkAnswer checks what every answer of a signal endpoint must be, whatever its status: a
// success is the documented JSON result list naming the request, an error is problem details of
// the type its status allows, with the headers its status requires; both echo the request ID and
// arrive within the request deadline.
func (st *scenario) checkAnswer(resp *response) error {
	if got := resp.header.Get("X-Request-ID"); got != resp.requestID {
		return fmt.Errorf("the gateway answered with X-Request-ID %q, not the %q the sender gave", got, resp.requestID)
	}
	if err := st.withinDeadline(resp); err != nil {
		return err
	}
	if resp.code < 300 {
		switch {
		case mediaType(resp.header) != "application/json" || resp.parseErr != nil || len(resp.results.Results) == 0:
			return fmt.Errorf("the answer %d is not the documented JSON result list (Content-Type %q, %v): %s", resp.code, resp.header.Get("Content-Type"), resp.parseErr, resp)
		case resp.results.RequestID != resp.requestID:
			return fmt.Errorf("the result list's requestId %q is not the %q the sender gave: %s", resp.results.RequestID, resp.requestID, resp)
		}
		return st.checkResults(resp)
	}
	return st.checkProblem(resp)
}

// checkProblem checks RFC 7807 problem details: every member present and consistent with the
// answer, the problem type one the contract gives the status, and the status's headers.
func (st *scenario) checkProblem(resp *response) error {
	p := resp.problem
	switch {
	case p == nil || mediaType(resp.header) != "application/problem+json":
		return fmt.Errorf("expected application/problem+json, got Content-Type %q: %s", resp.header.Get("Content-Type"), resp)
	case resp.parseErr != nil:
		return fmt.Errorf("the problem details do not parse: %v: %s", resp.parseErr, resp)
	case p.Status != resp.code:
		return fmt.Errorf("the problem's status is %d but the answer was %d", p.Status, resp.code)
	case p.Type == "" || p.Title == "" || p.Detail == "" || p.Instance == "":
		return fmt.Errorf("the problem details lack type, title, detail or instance: %s", resp)
	case resp.path != "" && p.Instance != resp.path:
		return fmt.Errorf("the problem's instance is %q, not the path %s the request went to: %s", p.Instance, resp.path, resp)
	case p.RequestID != resp.requestID:
		return fmt.Errorf("the problem's requestId %q is not the %q the sender gave", p.RequestID, resp.requestID)
	}
	slugs, known := problemSlugs[resp.code]
	if !known || !slices.ContainsFunc(slugs, func(s string) bool { return p.Type == problemTypeBase+s }) {
		return fmt.Errorf("a %d is a problem of type %s%v, got %q: %s", resp.code, problemTypeBase, slugs, p.Type, resp)
	}
	switch resp.code {
	case 401:
		if got := resp.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
			return fmt.Errorf("a 401 must ask for a bearer token (WWW-Authenticate: Bearer), got %q: %s", got, resp)
		}
	case 405:
		if resp.header.Get("Allow") == "" {
			return fmt.Errorf("a 405 must say which methods are allowed (Allow), but has no Allow header: %s", resp)
		}
	case 503:
		return st.checkRetryAfter(resp)
	}
	return nil
}

// checkResults checks the result list of a success: one result per signal, in request order,
// each with what its status promises.
func (st *scenario) checkResults(resp *response) error {
	for i, r := range resp.results.Results {
		var problem string
		switch {
		case r.Index != i:
			problem = fmt.Sprintf("index %d at position %d", r.Index, i)
		case r.Alertname == "":
			problem = "no alertname"
		case !hex64.MatchString(r.Fingerprint):
			problem = fmt.Sprintf("fingerprint %q is not 64 lowercase hex characters", r.Fingerprint)
		case r.Status == "ignored" && (r.Reason != "resolved" && r.Reason != "normal-event"):
			problem = fmt.Sprintf("an ignored result gives the reason %q, not resolved or normal-event", r.Reason)
		case r.Status == "ignored" && (r.Namespace != "" || r.Name != "" || r.OccurrenceCount != 0):
			problem = "an ignored result names a remediation request"
		case r.Status == "created" && (r.Namespace == "" || r.Name == "" || r.OccurrenceCount < 1):
			problem = "a created result lacks its remediation request or its occurrence count"
		case r.Status == "duplicate" && (r.Namespace == "" || r.Name == "" || r.OccurrenceCount < 2):
			problem = "a duplicate result lacks its remediation request, or counts fewer than 2 occurrences"
		case r.Status != "created" && r.Status != "duplicate" && r.Status != "ignored":
			problem = fmt.Sprintf("status %q is none of created, duplicate, ignored", r.Status)
		}
		if problem != "" {
			return fmt.Errorf("result %d of the answer breaks the contract: %s: %s", i, problem, resp)
		}
	}
	want := 200
	for _, r := range resp.results.Results {
		switch r.Status {
		case "created":
			want = 201
		case "duplicate":
			if want == 200 {
				want = 202
			}
		}
	}
	if resp.code != want {
		return fmt.Errorf("the results call for %d (201 when any was created, else 202 when any was a duplicate, else 200), but the gateway answered %s", want, resp)
	}
	return nil
}

// answersProblem checks RFC 7807 problem details: every member present and consistent.
func answersProblem(ctx context.Context, code int) error {
	if code < 400 {
		return fmt.Errorf("problem details go with error statuses, not %d", code)
	}
	return answers(ctx, code)
}

func answersUnavailable(ctx context.Context) error {
	return answersProblem(ctx, 503)
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
		text, wantNS = rest, st.run.FallbackNamespace()
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
	if err := st.checkAnswer(resp); err != nil {
		return err
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

// everyAnswerAfterFirst checks the answers to a signal repeated one request after another: each
// is the given status, and, for repeats, each counts exactly one occurrence more than the one
// before.
func everyAnswerAfterFirst(ctx context.Context, code int) error {
	st := state(ctx)
	all := st.allResponses()
	if len(all) < 2 {
		return fmt.Errorf("expected several answers, got %d", len(all))
	}
	for i, r := range all[1:] {
		if r.code != code {
			return fmt.Errorf("answer %d of %d was %s, expected %d", i+2, len(all), r, code)
		}
		if err := st.checkAnswer(r); err != nil {
			return fmt.Errorf("answer %d of %d: %w", i+2, len(all), err)
		}
	}
	for i := 1; i < len(all); i++ {
		prev, cur := all[i-1].results.Results, all[i].results.Results
		if len(prev) != 1 || len(cur) != 1 || cur[0].Status != "duplicate" {
			continue
		}
		if cur[0].OccurrenceCount != prev[0].OccurrenceCount+1 {
			return fmt.Errorf("answer %d counts %d occurrences, answer %d counted %d: a repeat sent after the previous answer counts exactly one more",
				i+1, cur[0].OccurrenceCount, i, prev[0].OccurrenceCount)
		}
	}
	return nil
}

// exactlyOneCreated checks the answers to identical signals sent at once: one created, the others
// duplicates, and the occurrence counts they report are 1 to N, each once (every occurrence is
// counted once, none is lost to a race).
func exactlyOneCreated(ctx context.Context) error {
	st := state(ctx)
	all := st.allResponses()
	counts := map[int]int{}
	var occurrences []int
	for _, r := range all {
		counts[r.code]++
		if r.code == 201 || r.code == 202 {
			if err := st.checkAnswer(r); err != nil {
				return err
			}
			for _, res := range r.results.Results {
				occurrences = append(occurrences, int(res.OccurrenceCount))
			}
		}
	}
	if counts[201] != 1 || len(counts) > 2 || (len(counts) == 2 && counts[202] == 0) {
		return fmt.Errorf("expected one 201 and the rest 202, got answers by code %v", counts)
	}
	slices.Sort(occurrences)
	for i, n := range occurrences {
		if n != i+1 {
			return fmt.Errorf("the %d answers report the occurrence counts %v; each of 1 to %d must appear once", len(all), occurrences, len(all))
		}
	}
	return nil
}

func answered503ThenAccepted(ctx context.Context) error {
	st := state(ctx)
	all := st.allResponses()
	if len(all) < 2 || all[0].code != 503 {
		return fmt.Errorf("expected a 503 before the batch was accepted, but the answers were %v", codes(all))
	}
	last := all[len(all)-1]
	if last.code != 201 {
		return fmt.Errorf("expected the batch to be accepted with 201 in the end, but the answers were %v", codes(all))
	}
	for i, r := range all {
		if r.code != 503 && r != last {
			return fmt.Errorf("answer %d of %d was %s: before the batch is accepted, every answer is 503", i+1, len(all), r)
		}
		if err := st.checkAnswer(r); err != nil {
			return fmt.Errorf("answer %d of %d: %w", i+1, len(all), err)
		}
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
