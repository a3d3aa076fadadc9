package steps

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"
)

func testScenario() *scenario {
	return &scenario{ns: "e2e-test-ns"}
}

func TestFailureWords(t *testing.T) {
	tests := []struct{ words, want, errPart string }{
		{"status 503", "status 503", ""},
		{"a reset connection", "reset", ""},
		{"a dropped connection", "drop", ""},
		{"no answer at all", "black hole", ""},
		{"status five hundred", "", "cannot read the status"},
		{"a rude answer", "", "unknown failure"},
	}
	for _, tc := range tests {
		a, err := failure(tc.words)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("failure(%q) = %v, %v; want an error with %q", tc.words, a, err, tc.errPart)
			}
			continue
		}
		if err != nil || !strings.Contains(strings.ToLower(a.String()), tc.want) {
			t.Errorf("failure(%q) = %v, %v; want an action like %q", tc.words, a, err, tc.want)
		}
	}
}

func TestTargetTable(t *testing.T) {
	re := regexp.MustCompile("^" + targetPattern(false) + "$")
	for _, t0 := range targetTable {
		if !re.MatchString(t0.word + ` "x"`) {
			t.Errorf("the step pattern does not accept %q", t0.word)
		}
	}
	if regexp.MustCompile("^" + targetPattern(true) + "$").MatchString(`node "x"`) {
		t.Error("the namespaced pattern accepts a node")
	}
	if !clusterScoped("node") || clusterScoped("pod") || clusterScoped("nonsense") {
		t.Error("clusterScoped disagrees with the table")
	}
	st := testScenario()
	if got := st.clusterName("node", "worker-1"); got != "worker-1-"+st.ns {
		t.Errorf("clusterName(node) = %q: a node's name must carry the scenario's namespace", got)
	}
	if got := st.clusterName("pod", "api-0"); got != "api-0" {
		t.Errorf("clusterName(pod) = %q", got)
	}
	if _, err := st.newAlert("A", "critical", "cronjob", "x"); err == nil || !strings.Contains(err.Error(), "pod, deployment") {
		t.Errorf("newAlert with an unknown kind = %v", err)
	}
	a, _ := st.newAlert("A", "critical", "node", "worker-1")
	if a.namespace != "" {
		t.Errorf("an alert about a node has namespace %q", a.namespace)
	}
}

func TestBatchTable(t *testing.T) {
	st := testScenario()
	header := []string{"alert", "kind", "target", "severity"}
	alerts, err := batchFromTable(st, table(header, []string{"A", "pod", "api-0", "critical"}, []string{"B", "node", "w1", "warning"}))
	if err != nil || len(alerts) != 2 || alerts[0].namespace != st.ns || alerts[1].namespace != "" || alerts[1].severity != "warning" {
		t.Fatalf("batchFromTable = %+v, %v", alerts, err)
	}
	for name, tb := range map[string]*godog.Table{
		"header only":  table(header),
		"short row":    table(header, []string{"A", "pod", "api-0"}),
		"unknown kind": table(header, []string{"A", "cronjob", "x", "critical"}),
	} {
		if _, err := batchFromTable(st, tb); err == nil {
			t.Errorf("%s: batchFromTable accepted it", name)
		}
	}
}

// TestBadInputs checks that every bad-input builder produces what its words promise, so that a
// 400 scenario cannot pass on a body that was in fact valid.
func TestBadInputs(t *testing.T) {
	st := testScenario()
	valid := func(body []byte) bool {
		var n struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		return json.Unmarshal(body, &n) == nil && len(n.Alerts) > 0 && n.Alerts[0].Labels["alertname"] != ""
	}
	tests := map[string]func([]byte) bool{
		"text that is not JSON":                          func(b []byte) bool { return !json.Valid(b) },
		"a notification with no alerts":                  func(b []byte) bool { return json.Valid(b) && !valid(b) },
		"an alert without an alertname":                  func(b []byte) bool { return json.Valid(b) && !valid(b) && strings.Contains(string(b), `"alerts"`) },
		"a JSON array instead of an object":              func(b []byte) bool { return json.Valid(b) && strings.HasPrefix(string(b), "[") },
		"an empty body":                                  func(b []byte) bool { return len(b) == 0 },
		"a notification larger than the gateway accepts": func(b []byte) bool { return len(b) > 262144 },
		"an event without a reason":                      func(b []byte) bool { return json.Valid(b) && !strings.Contains(string(b), `"reason"`) },
		"an event without an involved object":            func(b []byte) bool { return json.Valid(b) && !strings.Contains(string(b), `"involvedObject"`) },
	}
	for what, ok := range tests {
		body, err := st.badInput(what)
		if err != nil || !ok(body) {
			t.Errorf("badInput(%q) = %.80q, %v: not what it says", what, body, err)
		}
	}
	if _, err := st.badInput("a poem"); err == nil {
		t.Error("badInput accepted an unknown description")
	}
	if a, _ := st.newAlert("A", "critical", "pod", "api-0"); !valid(notification([]alert{a}, time.Now())) {
		t.Error("the valid notification the bad inputs start from is not valid")
	}
}
