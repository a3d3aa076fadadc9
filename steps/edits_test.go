package steps

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cucumber/godog"
	messages "github.com/cucumber/messages/go/v34"
)

func table(rows ...[]string) *godog.Table {
	t := &godog.Table{}
	for _, r := range rows {
		row := &messages.PickleTableRow{}
		for _, v := range r {
			row.Cells = append(row.Cells, &messages.PickleTableCell{Value: v})
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func TestMetricDifferencesNamesABadTableShape(t *testing.T) {
	tests := []struct {
		name    string
		table   *godog.Table
		errPart string
	}{
		{"header only", table([]string{"metric", "value"}), "needs a header | metric | value | and at least one row"},
		{"a row of one cell", table([]string{"metric", "value"}, []string{"gateway_signals_created_total"}), "metrics row 1: want | metric | value |"},
		{"a row of three cells", table([]string{"metric", "value"}, []string{"a", "1", "x"}), "metrics row 1"},
		{"not a number", table([]string{"metric", "value"}, []string{"a", "one"}), `the value "one" is not a number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := metricDifferences(nil, tc.table)
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("error = %v, want it to say %q", err, tc.errPart)
			}
		})
	}
}

func TestWithoutAlertname(t *testing.T) {
	a := alert{name: "HighMemoryUsage", severity: "critical", kind: "pod", target: "api-0", namespace: "ns"}
	out, err := withoutAlertname(notification([]alert{a}, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	var n struct {
		Alerts []struct{ Labels map[string]string }
	}
	if err := json.Unmarshal(out, &n); err != nil {
		t.Fatal(err)
	}
	if len(n.Alerts) != 1 {
		t.Fatalf("alerts: %s", out)
	}
	if _, ok := n.Alerts[0].Labels["alertname"]; ok {
		t.Errorf("alertname still there: %s", out)
	}
	if n.Alerts[0].Labels["severity"] != "critical" {
		t.Errorf("the other labels must stay: %s", out)
	}
	for _, bad := range []string{`not json`, `{"alerts":[]}`, `{"alerts":[{"labels":{}}]}`} {
		if _, err := withoutAlertname([]byte(bad)); err == nil {
			t.Errorf("withoutAlertname(%s): nil error", bad)
		}
	}
}

func TestPermissionDifferences(t *testing.T) {
	want, got := map[string]bool{}, map[string]bool{}
	addPermissions(want, []string{"kubernaut.ai"}, []string{"remediationrequests", "remediationrequests/status"}, []string{"create", "get"})
	addPermissions(got, []string{"kubernaut.ai"}, []string{"remediationrequests"}, []string{"create", "get", "delete"})
	missing, extra := differences(want, got)
	if !slices.Equal(missing, []string{"kubernaut.ai/remediationrequests/status:create", "kubernaut.ai/remediationrequests/status:get"}) {
		t.Errorf("missing = %v", missing)
	}
	if !slices.Equal(extra, []string{"kubernaut.ai/remediationrequests:delete"}) {
		t.Errorf("extra = %v", extra)
	}
	if m, e := differences(want, want); len(m)+len(e) != 0 {
		t.Errorf("a set differs from itself: %v %v", m, e)
	}
}
