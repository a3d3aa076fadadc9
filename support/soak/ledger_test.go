package soak

import (
	"slices"
	"testing"
)

func TestLedgerNamesWhatNoProcessCounted(t *testing.T) {
	l := ledger{}
	l.add([]string{
		`{"level":"INFO","msg":"signal persisted","status":"created","rr_namespace":"a","rr_name":"rr-1-0"}`,
		`{"level":"INFO","msg":"signal persisted","status":"duplicate","rr_namespace":"a","rr_name":"rr-2-0"}`,
		`{"level":"DEBUG","msg":"occurrence recorded","status":"created","rr_namespace":"a","rr_name":"rr-3-0"}`,
		`not json`,
	})
	l.add([]string{ // a second process
		`{"msg":"signal persisted","status":"created","rr_namespace":"a","rr_name":"rr-1-0"}`,
		`{"msg":"signal persisted","status":"created","rr_namespace":"b","rr_name":"rr-4-0"}`,
	})
	for _, tc := range []struct {
		name                     string
		objects                  []string
		wantUncounted, wantTwice []string
	}{
		{"counted once, twice, never", []string{"a/rr-1-0", "a/rr-2-0", "a/rr-3-0", "b/rr-4-0"}, []string{"a/rr-2-0", "a/rr-3-0"}, []string{"a/rr-1-0"}},
		{"no objects", nil, nil, []string{"a/rr-1-0"}},
	} {
		uncounted, twice := l.compare(tc.objects)
		if !slices.Equal(uncounted, tc.wantUncounted) || !slices.Equal(twice, tc.wantTwice) {
			t.Errorf("%s: uncounted %v, twice %v; want %v and %v", tc.name, uncounted, twice, tc.wantUncounted, tc.wantTwice)
		}
	}
}

func TestErrorLinesAreTheGatewaysOwnAboutRequests(t *testing.T) {
	lines := []string{
		`{"level":"ERROR","msg":"signal not persisted: kubernetes api error","request_id":"r1","error":"boom"}`,
		`{"level":"ERROR","msg":"Failed to make webhook authorizer request: connection refused"}`,
		`{"level":"WARN","msg":"signal not persisted: kubernetes api unavailable","request_id":"r2"}`,
	}
	got := errorLines(lines)
	if len(got) != 1 || got[0] != lines[0] {
		t.Errorf("errorLines = %v, want only the first line", got)
	}
	if e := errorOf(got[0]); e != "boom" {
		t.Errorf("errorOf = %q", e)
	}
}

func TestTrailKeepsOutcomesAndCountsRetries(t *testing.T) {
	lines := []string{
		`{"msg":"retrying kubernetes api call","fingerprint":"fp1","attempt":1}`,
		`{"msg":"signal not persisted: kubernetes api unavailable","fingerprint":"fp1"}`,
		`{"msg":"signal persisted","fingerprint":"fp2"}`,
		`{"msg":"retrying kubernetes api call","fingerprint":"fp1","attempt":2}`,
		`{"msg":"signal persisted","fingerprint":"fp1","status":"duplicate"}`,
	}
	got := trail(lines, "fp1")
	want := []string{lines[1], lines[4], "(2 retry lines left out)"}
	if !slices.Equal(got, want) {
		t.Errorf("trail = %q, want %q", got, want)
	}
	if got := trail(lines, ""); got != nil {
		t.Errorf("trail of no fingerprint = %q", got)
	}
}
