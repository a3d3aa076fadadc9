package steps

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kubernaut/gateway-contract/support/repo"
)

// alert is one alert as a scenario describes it.
type alert struct {
	name, severity, kind, target string
	namespace                    string // "" for cluster-scoped targets
	resolved                     bool
	extra                        map[string]string
}

// clusterName makes a cluster-scoped target's name unique to the scenario, so that scenarios
// sharing the fallback namespace cannot see each other's signals. Every step that names a node
// goes through it, so payloads and assertions agree.
func (st *scenario) clusterName(kind, name string) string {
	if !clusterScoped(kind) {
		return name
	}
	return name + "-" + st.ns
}

func (st *scenario) newAlert(name, severity, kind, target string) (alert, error) {
	t, err := lookupTarget(kind)
	if err != nil {
		return alert{}, err
	}
	a := alert{name: name, severity: severity, kind: kind, target: st.clusterName(kind, target), namespace: st.ns}
	if t.clusterScoped {
		a.namespace = ""
	}
	return a, nil
}

// firingSince is the startsAt of every alert the suite sends: a fixed offset before now, so that
// "when the alert fired" can be checked.
const firingSince = 3 * time.Minute

func notification(alerts []alert, now time.Time) []byte {
	type amAlert struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     string            `json:"startsAt"`
		EndsAt       string            `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	}
	body := struct {
		Version         string            `json:"version"`
		Receiver        string            `json:"receiver"`
		Status          string            `json:"status"`
		Alerts          []amAlert         `json:"alerts"`
		GroupLabels     map[string]string `json:"groupLabels"`
		CommonLabels    map[string]string `json:"commonLabels"`
		ExternalURL     string            `json:"externalURL"`
		GroupKey        string            `json:"groupKey"`
		TruncatedAlerts int               `json:"truncatedAlerts"`
	}{Version: "4", Receiver: "kubernaut", Status: "firing", GroupLabels: map[string]string{}, CommonLabels: map[string]string{}, GroupKey: "{}:{}"}
	for i, a := range alerts {
		labels := map[string]string{"alertname": a.name, a.kind: a.target}
		if a.severity != "" {
			labels["severity"] = a.severity
		}
		if a.namespace != "" {
			labels["namespace"] = a.namespace
		}
		for k, v := range a.extra {
			labels[k] = v
		}
		status, ends := "firing", "0001-01-01T00:00:00Z"
		if a.resolved {
			status, ends = "resolved", now.UTC().Format(time.RFC3339)
		}
		body.Alerts = append(body.Alerts, amAlert{
			Status: status, Labels: labels, EndsAt: ends,
			Annotations: map[string]string{"summary": a.name + " on " + a.target},
			StartsAt:    now.Add(-firingSince).UTC().Truncate(time.Second).Format(time.RFC3339),
			Fingerprint: fmt.Sprintf("%016x", i+1),
		})
	}
	data, _ := json.Marshal(body)
	return data
}

// recordedNotification loads a captured notification and moves it into the scenario: its
// namespace labels become the scenario's namespace, its node names become the scenario's.
func (st *scenario) recordedNotification(name string) ([]byte, error) {
	// The real Alertmanager notifications (captured from Alertmanager v0.28.1, see
	// testdata/alertmanager/README.md: the project's one copy, which the gateway's parser tests
	// read too), replayed with their namespaces rewritten to the scenario's.
	path, err := repo.Path("testdata", "alertmanager", name+".json")
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("no recorded notification %q in testdata/alertmanager: %w", name, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("recorded notification %q: %w", name, err)
	}
	rewrite := func(v any) {
		labels, _ := v.(map[string]any)
		if _, ok := labels["namespace"]; ok {
			labels["namespace"] = st.ns
		}
		for _, t := range targetTable {
			if n, ok := labels[t.word].(string); ok && t.clusterScoped {
				labels[t.word] = st.clusterName(t.word, n)
			}
		}
	}
	rewrite(doc["groupLabels"])
	rewrite(doc["commonLabels"])
	alerts, _ := doc["alerts"].([]any)
	for _, a := range alerts {
		m, _ := a.(map[string]any)
		rewrite(m["labels"])
	}
	return json.Marshal(doc)
}

// event builds a core/v1 Event about a pod in the scenario's namespace, or about a node.
func (st *scenario) event(kind, eventType, reason, target string, now time.Time) ([]byte, error) {
	t, err := lookupTarget(kind)
	if err != nil || !t.events {
		return nil, fmt.Errorf("events are about a %s, not %q", strings.Join(targetWords(func(t targetKind) bool { return t.events }), " or a "), kind)
	}
	k := t.kind
	target = st.clusterName(kind, target)
	involvedNS := st.ns
	if t.clusterScoped {
		involvedNS = ""
	}
	ts := now.UTC().Truncate(time.Second).Format(time.RFC3339)
	ev := map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata": map[string]any{"name": fmt.Sprintf("%s.%x", target, now.UnixNano()), "namespace": st.ns},
		"involvedObject": map[string]any{
			"kind": k, "name": target, "namespace": involvedNS, "apiVersion": "v1",
		},
		"reason": reason, "message": reason + " reported for " + target,
		"type": eventType, "count": 1,
		"firstTimestamp": ts, "lastTimestamp": ts,
		"source": map[string]any{"component": "kubelet"},
	}
	return json.Marshal(ev)
}

// badInputs are the malformed requests of the validation features, by the words the Gherkin uses.
func (st *scenario) badInput(what string) ([]byte, error) {
	a, _ := st.newAlert("HighMemoryUsage", "critical", "pod", "api-0")
	valid := notification([]alert{a}, time.Now())
	switch what {
	case "text that is not JSON":
		return []byte("this is { not json"), nil
	case "a notification with no alerts":
		return []byte(`{"version":"4","status":"firing","receiver":"kubernaut","alerts":[]}`), nil
	case "an alert without an alertname":
		return withoutAlertname(valid)
	case "a JSON array instead of an object":
		return []byte(`[` + string(valid) + `]`), nil
	case "an empty body":
		return []byte{}, nil
	case "a notification larger than the gateway accepts":
		big := alert{name: "Huge", severity: "info", kind: "pod", target: "api-0", namespace: st.ns,
			extra: map[string]string{"padding": strings.Repeat("x", 300*1024)}}
		return notification([]alert{big}, time.Now()), nil
	case "an event without a reason", "an event without an involved object":
		ev, err := st.event("pod", "Warning", "OOMKilled", "api-0", time.Now())
		if err != nil {
			return nil, err
		}
		var m map[string]any
		_ = json.Unmarshal(ev, &m)
		if what == "an event without a reason" {
			delete(m, "reason")
		} else {
			delete(m, "involvedObject")
		}
		return json.Marshal(m)
	}
	return nil, fmt.Errorf("unknown bad input %q: add it to steps/payloads.go", what)
}

// withoutAlertname is the notification with the alertname label of its first alert removed.
func withoutAlertname(notificationJSON []byte) ([]byte, error) {
	var n map[string]any
	if err := json.Unmarshal(notificationJSON, &n); err != nil {
		return nil, fmt.Errorf("reading the notification to edit: %w", err)
	}
	alerts, _ := n["alerts"].([]any)
	if len(alerts) == 0 {
		return nil, fmt.Errorf("the notification to edit has no alerts")
	}
	first, _ := alerts[0].(map[string]any)
	labels, _ := first["labels"].(map[string]any)
	if _, ok := labels["alertname"]; !ok {
		return nil, fmt.Errorf("the notification's first alert has no alertname label to remove")
	}
	delete(labels, "alertname")
	return json.Marshal(n)
}
