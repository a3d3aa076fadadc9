package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cucumber/godog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

// Steps about the RemediationRequests in the cluster, read with administrator rights.
func registerRemediationSteps(sc *godog.ScenarioContext) {
	on := `"([^"]+)" on ` + targetPattern(false)
	sc.Step(`^a remediation request exists for `+on+`$`, rrExists)
	sc.Step(`^a remediation request for `+on+` is in the fallback namespace$`, rrInFallback)
	sc.Step(`^the remediation request for `+on+` is in this namespace$`, rrInThisNamespace)
	sc.Step(`^the (?:(new) )?remediation request for `+on+` has occurrence count (\d+)$`, rrCount)
	sc.Step(`^its occurrence count is (\d+)$`, currentCount)
	sc.Step(`^the remediation request for `+on+` has severity "([^"]+)"$`, rrSeverity)
	sc.Step(`^the remediation request for `+on+` keeps the label "([^"]+)" as "([^"]*)"$`, rrKeepsLabel)
	sc.Step(`^the remediation request for `+on+` keeps at most (\d+) characters of the label "([^"]+)"$`, rrLabelCut)
	sc.Step(`^the remediation request for `+on+` targets a (\w+) named "([^"]+)" in this namespace$`, rrTargets)
	sc.Step(`^the remediation request for `+on+` came from a Kubernetes event$`, rrFromEvent)
	sc.Step(`^the remediation request for `+on+` was last seen after it was first seen$`, rrLastSeenMoved)
	sc.Step(`^the remediation (?:of|for) `+on+` (?:has ended as|is in the phase) "([^"]+)"$`, rrSetPhase)
	sc.Step(`^the remediation request for `+on+` is deleted behind the gateway's back$`, rrDeleteBehind)
	sc.Step(`^the (namespace|second namespace) holds exactly (\d+) remediation requests?$`, holdsExactly)
	sc.Step(`^the namespace holds no remediation requests$`, holdsNone)
	sc.Step(`^the remediation requests for (pod|deployment|service) "([^"]+)" and (pod|deployment|service) "([^"]+)" have different fingerprints$`, differentFingerprints)
	sc.Step(`^each alert of the batch has exactly one remediation request$`, onePerAlert)
	registerRecordSteps(sc)
}

// list returns the remediation requests in ns, oldest first.
func (st *scenario) list(ctx context.Context, ns string) ([]v1alpha1.RemediationRequest, error) {
	var l v1alpha1.RemediationRequestList
	if err := st.client().List(ctx, &l, ctrlclient.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("listing remediation requests in %s: %w", ns, err)
	}
	sort.Slice(l.Items, func(i, j int) bool {
		return l.Items[i].CreationTimestamp.Before(&l.Items[j].CreationTimestamp) ||
			(l.Items[i].CreationTimestamp.Equal(&l.Items[j].CreationTimestamp) && l.Items[i].Name < l.Items[j].Name)
	})
	return l.Items, nil
}

func summary(items []v1alpha1.RemediationRequest) string {
	if len(items) == 0 {
		return "no remediation requests"
	}
	var parts []string
	for _, rr := range items {
		parts = append(parts, fmt.Sprintf("%s (%s on %s %s/%s, count %d, phase %q)", rr.Name, rr.Spec.SignalName,
			rr.Spec.TargetResource.Kind, rr.Spec.TargetResource.Namespace, rr.Spec.TargetResource.Name, occurrenceCount(&rr), rr.Status.OverallPhase))
	}
	return fmt.Sprintf("%d: %s", len(items), strings.Join(parts, "; "))
}

// matching keeps the requests for a signal on a target, in the order given.
func (st *scenario) matching(items []v1alpha1.RemediationRequest, name, kind, target string) []v1alpha1.RemediationRequest {
	t, _ := lookupTarget(kind)
	wantKind, wantName := t.kind, st.clusterName(kind, target)
	var found []v1alpha1.RemediationRequest
	for _, rr := range items {
		t := rr.Spec.TargetResource
		if rr.Spec.SignalName == name && t.Kind == wantKind && t.Name == wantName {
			found = append(found, rr)
		}
	}
	return found
}

// find waits for the remediation requests in ns for a signal on a target; newest last.
func (st *scenario) find(ctx context.Context, ns, name, kind, target string) ([]v1alpha1.RemediationRequest, error) {
	var found []v1alpha1.RemediationRequest
	what := fmt.Sprintf("a remediation request for %q on %s %q in namespace %s", name, kind, st.clusterName(kind, target), ns)
	err := st.bounds().Await(ctx, what, func(ctx context.Context) (bool, string, error) {
		items, err := st.list(ctx, ns)
		if err != nil {
			return false, "", err
		}
		found = st.matching(items, name, kind, target)
		return len(found) > 0, summary(items), nil
	})
	return found, err
}

// signalNamespace is where the scenario's signals about a kind of target land: cluster-scoped targets go to
// the fallback namespace.
func (st *scenario) signalNamespace(kind string) string {
	if clusterScoped(kind) {
		return st.run.FallbackNamespace()
	}
	return st.ns
}

// newestRequest finds the newest matching request and makes it "it".
func (st *scenario) newestRequest(ctx context.Context, name, kind, target string) (*v1alpha1.RemediationRequest, error) {
	found, err := st.find(ctx, st.signalNamespace(kind), name, kind, target)
	if err != nil {
		return nil, err
	}
	st.current = found[len(found)-1].DeepCopy()
	return st.current, nil
}

func rrExists(ctx context.Context, name, kind, target string) error {
	_, err := state(ctx).newestRequest(ctx, name, kind, target)
	return err
}

func rrInThisNamespace(ctx context.Context, name, kind, target string) error {
	st := state(ctx)
	rr, err := st.newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	if rr.Namespace != st.ns {
		return fmt.Errorf("expected %s in the signal's namespace %s, found it in %s", rr.Name, st.ns, rr.Namespace)
	}
	return nil
}

func rrInFallback(ctx context.Context, name, kind, target string) error {
	st := state(ctx)
	found, err := st.find(ctx, st.run.FallbackNamespace(), name, kind, target)
	if err != nil {
		return err
	}
	// A namespaced target keeps the namespace it came from: the missing one the scenario named,
	// else the scenario's own (being deleted, say).
	wantNS := st.missing
	if wantNS == "" {
		wantNS = st.ns
	}
	if clusterScoped(kind) {
		wantNS = ""
	}
	for i := range found {
		if found[i].Spec.TargetResource.Namespace == wantNS {
			st.current = found[i].DeepCopy()
			return nil
		}
	}
	return fmt.Errorf("found %s in the fallback namespace, but none targets namespace %q", summary(found), wantNS)
}

// occurrenceCount is the request's recorded occurrences, 0 before the first is recorded.
func occurrenceCount(rr *v1alpha1.RemediationRequest) int32 {
	if rr.Status.Deduplication == nil {
		return 0
	}
	return rr.Status.Deduplication.OccurrenceCount
}

func rrCount(ctx context.Context, isNew, name, kind, target string, want int) error {
	st := state(ctx)
	ns := st.signalNamespace(kind)
	what := fmt.Sprintf("the %sremediation request for %q on %s %q in %s to have occurrence count %d", map[bool]string{true: "new ", false: ""}[isNew != ""], name, kind, target, ns, want)
	return st.bounds().Await(ctx, what, func(ctx context.Context) (bool, string, error) {
		items, err := st.list(ctx, ns)
		if err != nil {
			return false, "", err
		}
		found := st.matching(items, name, kind, target)
		if len(found) == 0 {
			return false, summary(items), nil
		}
		rr := &found[len(found)-1]
		if isNew != "" && terminalPhases[rr.Status.OverallPhase] {
			return false, summary(found), nil
		}
		return occurrenceCount(rr) == int32(want), summary(found), nil
	})
}

func currentCount(ctx context.Context, want int) error {
	st := state(ctx)
	if st.current == nil {
		return fmt.Errorf("no remediation request was found before: say which one first")
	}
	rr := st.current
	if got := occurrenceCount(rr); got != int32(want) {
		return fmt.Errorf("expected occurrence count %d on %s, got %d (status %+v)", want, rr.Name, got, rr.Status)
	}
	return nil
}

func rrSeverity(ctx context.Context, name, kind, target, want string) error {
	rr, err := state(ctx).newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	if rr.Spec.Severity != want || rr.Labels[labelSeverity] != want {
		return fmt.Errorf("expected severity %q on %s, got spec %q and label %q", want, rr.Name, rr.Spec.Severity, rr.Labels[labelSeverity])
	}
	return nil
}

func rrKeepsLabel(ctx context.Context, name, kind, target, label, want string) error {
	rr, err := state(ctx).newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	if got, ok := rr.Spec.SignalLabels[label]; !ok || got != want {
		return fmt.Errorf("expected the signal label %s=%q to be kept on %s, got %q (present: %v)", label, want, rr.Name, got, ok)
	}
	return nil
}

func rrLabelCut(ctx context.Context, name, kind, target string, max int, label string) error {
	rr, err := state(ctx).newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	// The suite sends more than max ASCII characters, so "at most max" means exactly the first max.
	got := rr.Spec.SignalLabels[label]
	if len(got) != max || !strings.HasPrefix(strings.Repeat("abcdefghij", max/10+1), got) {
		return fmt.Errorf("expected the label %s cut to the first %d characters of what was sent, got %d characters", label, max, len(got))
	}
	return nil
}

func rrTargets(ctx context.Context, name, kind, target, wantKind, wantName string) error {
	st := state(ctx)
	rr, err := st.newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	t := rr.Spec.TargetResource
	if t.Kind != wantKind || t.Name != st.clusterName(kind, wantName) || t.Namespace != st.ns {
		return fmt.Errorf("expected target %s %s/%s, got %s %s/%s", wantKind, st.ns, wantName, t.Kind, t.Namespace, t.Name)
	}
	return nil
}

func rrFromEvent(ctx context.Context, name, kind, target string) error {
	rr, err := state(ctx).newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	if rr.Spec.SignalType != signalTypeKubernetesEvent || rr.Labels[labelSignalType] != signalTypeKubernetesEvent {
		return fmt.Errorf("expected signal type %s, got spec %q and label %q", signalTypeKubernetesEvent, rr.Spec.SignalType, rr.Labels[labelSignalType])
	}
	if want := signalSources[signalTypeKubernetesEvent]; rr.Spec.SignalSource != want {
		return fmt.Errorf("expected signal source %q for an event, got %q", want, rr.Spec.SignalSource)
	}
	return nil
}

func rrLastSeenMoved(ctx context.Context, name, kind, target string) error {
	st := state(ctx)
	rr, err := st.newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	d := rr.Status.Deduplication
	if d == nil {
		return fmt.Errorf("%s has no deduplication status", rr.Name)
	}
	all := st.allResponses()
	if len(all) < 2 {
		return fmt.Errorf("expected a repeat to have been sent")
	}
	// The times have microsecond precision: firstSeenAt falls within the first request, lastSeenAt
	// within the repeat (1ms of slack for truncation), each from its first delivery (the suite
	// redelivers after an overload) to its answer.
	repeat, first := all[len(all)-1], all[0]
	within := func(t time.Time, r *response) bool {
		return !t.Before(r.firstSentAt.Add(-time.Millisecond)) && !t.After(r.at.Add(time.Millisecond))
	}
	if !within(d.LastSeenAt.Time, repeat) {
		return fmt.Errorf("expected lastSeenAt within the repeat's request (%s to %s), got %s", repeat.firstSentAt.Format(time.RFC3339Nano), repeat.at.Format(time.RFC3339Nano), d.LastSeenAt.Format(time.RFC3339Nano))
	}
	if !within(d.FirstSeenAt.Time, first) || !d.LastSeenAt.After(d.FirstSeenAt.Time) {
		return fmt.Errorf("expected firstSeenAt (%s) within the first request and before lastSeenAt (%s)", d.FirstSeenAt.Format(time.RFC3339Nano), d.LastSeenAt.Format(time.RFC3339Nano))
	}
	return nil
}

// rrSetPhase plays the downstream controller that owns overallPhase.
func rrSetPhase(ctx context.Context, name, kind, target, phase string) error {
	st := state(ctx)
	rr, err := st.newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	rr.Status.OverallPhase = phase
	if err := st.client().Status().Update(ctx, rr); err != nil {
		return fmt.Errorf("setting the phase of %s to %s as the downstream controller would: %w", rr.Name, phase, err)
	}
	return nil
}

// rrDeleteBehind removes a remediation request with administrator rights, as a person or another
// controller would, and waits until the API no longer has it. What the gateway knows of it is
// then out of date until it learns of the removal.
func rrDeleteBehind(ctx context.Context, name, kind, target string) error {
	st := state(ctx)
	rr, err := st.newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	if err := st.client().Delete(ctx, rr); err != nil {
		return fmt.Errorf("deleting %s/%s: %w", rr.Namespace, rr.Name, err)
	}
	return st.bounds().Await(ctx, "remediation request "+rr.Name+" to be gone", func(ctx context.Context) (bool, string, error) {
		err := st.client().Get(ctx, ctrlclient.ObjectKeyFromObject(rr), &v1alpha1.RemediationRequest{})
		if isNotFound(err) {
			return true, "", nil
		}
		return false, "still there", err
	})
}

func holdsExactly(ctx context.Context, which string, want int) error {
	st := state(ctx)
	ns := st.ns
	if which == "second namespace" {
		if st.second == "" {
			return fmt.Errorf("the scenario has no second namespace: add 'Given a second namespace for this scenario'")
		}
		ns = st.second
	}
	what := fmt.Sprintf("namespace %s to hold exactly %d remediation requests", ns, want)
	check := func(ctx context.Context) (bool, string, error) {
		items, err := st.list(ctx, ns)
		if err != nil {
			return false, "", err
		}
		return len(items) == want, summary(items), nil
	}
	if err := st.bounds().Await(ctx, what, check); err != nil {
		return err
	}
	return st.bounds().Hold(ctx, what, check)
}

func holdsNone(ctx context.Context) error { return holdsExactly(ctx, "namespace", 0) }

func differentFingerprints(ctx context.Context, k1, t1, k2, t2 string) error {
	st := state(ctx)
	items, err := st.list(ctx, st.ns)
	if err != nil {
		return err
	}
	fps := map[string]string{}
	for _, rr := range items {
		fps[rr.Spec.TargetResource.Name] = rr.Spec.SignalFingerprint
	}
	a, b := fps[st.clusterName(k1, t1)], fps[st.clusterName(k2, t2)]
	if a == "" || b == "" || a == b {
		return fmt.Errorf("expected two different fingerprints for %s and %s, got %q and %q", t1, t2, a, b)
	}
	return nil
}

// onePerAlert checks that every alert of the last batch sent is stored once: one remediation
// request per signal, however often the batch was delivered.
func onePerAlert(ctx context.Context) error {
	st := state(ctx)
	req, err := st.lastSent()
	if err != nil {
		return err
	}
	var sent struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
		} `json:"alerts"`
	}
	if err := json.Unmarshal(req.body, &sent); err != nil || len(sent.Alerts) == 0 {
		return fmt.Errorf("the last notification sent is not a batch of alerts: %v", err)
	}
	items, err := st.list(ctx, st.ns)
	if err != nil {
		return err
	}
	for _, a := range sent.Alerts {
		n := 0
		for _, rr := range items {
			t := rr.Spec.TargetResource
			if rr.Spec.SignalName == a.Labels["alertname"] && a.Labels[strings.ToLower(t.Kind)] == t.Name {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("expected one remediation request for alert %v, found %d: %s", a.Labels, n, summary(items))
		}
	}
	return nil
}

var hex64 = regexp.MustCompile(`^[a-f0-9]{64}$`)
