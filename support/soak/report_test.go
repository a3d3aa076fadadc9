package soak

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVerdictFailsOnEveryKindOfProblem(t *testing.T) {
	clean := func() *Report {
		return &Report{
			Result:        Result{RemediationRequests: 2, MetricsChecked: true, MetricsAgree: true, CreatedMetric: 2},
			Alertmanagers: []AlertmanagerRecord{{URL: "am1", Batches: 3, Delivered: 3}},
			Drained:       true,
		}
	}
	for _, tc := range []struct {
		name  string
		spoil func(r *Report)
		want  string // in Failed; empty: the report passes
	}{
		{"clean", func(*Report) {}, ""},
		{"lost", func(r *Report) { r.Lost = []Lost{{Fingerprint: "f"}} }, "1 lost"},
		{"metrics", func(r *Report) { r.MetricsAgree = false }, "metrics disagree"},
		{"an Alertmanager short of its batches", func(r *Report) { r.Alertmanagers[0].Delivered = 2 }, "delivered 2 of 3 batches"},
		{"not drained", func(r *Report) { r.Drained, r.DrainError = false, "timed out" }, "did not drain: timed out"},
		{"a kind never fired", func(r *Report) { r.KindsNotFired = []string{"429"} }, "never fired"},
		{"deleted but not reported lost", func(r *Report) { r.DeletedBehind = []string{"ns/rr-x-0"} }, "did not report exactly the 1 objects"},
	} {
		r := clean()
		tc.spoil(r)
		r.verdict()
		got := strings.Join(r.Failed, "\n")
		if (tc.want == "") != r.OK() || !strings.Contains(got, tc.want) {
			t.Errorf("%s: OK %v, failed %q; want %q", tc.name, r.OK(), got, tc.want)
		}
	}
	if (*Report)(nil).OK() {
		t.Error("a nil report passed")
	}
}

func TestWriteJSONReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deeper", "soak.json")
	r := &Report{Seed: 42, Phases: Phases{Total: Duration(1500 * time.Millisecond)},
		Result: Result{Lost: []Lost{{Namespace: "ns", ExpectedName: "rr-1-0"}}}}
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Seed != 42 || back.Phases.Total != r.Phases.Total || len(back.Lost) != 1 || !strings.Contains(string(data), `"total": "1.5s"`) {
		t.Errorf("read back %+v from\n%s", back, data)
	}
}
