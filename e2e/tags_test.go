package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAndTags(t *testing.T) {
	tests := []struct{ filter, term, want string }{
		{"", "~@quarantine", "~@quarantine"},
		{"@resilience", "~@quarantine", "@resilience && ~@quarantine"},
		{"@a,@b && ~@c", "@quarantine", "@a && @quarantine,@b && ~@c && @quarantine"},
	}
	for _, tc := range tests {
		if got := andTags(tc.filter, tc.term); got != tc.want {
			t.Errorf("andTags(%q, %q) = %q, want %q", tc.filter, tc.term, got, tc.want)
		}
	}
}

// A run that drives a gateway it did not launch leaves out the scenarios that need one it
// launched, once, whatever the user's filter says.
func TestRunTags(t *testing.T) {
	tests := []struct {
		filter   string
		launches bool
		want     string
	}{
		{"", true, ""},
		{"@dedup", true, "@dedup"},
		{"", false, "~@launched-gateway"},
		{"@dedup,@tls", false, "@dedup && ~@launched-gateway,@tls && ~@launched-gateway"},
		{"~@launched-gateway", false, "~@launched-gateway"},
	}
	for _, tc := range tests {
		if got := runTags(tc.filter, tc.launches); got != tc.want {
			t.Errorf("runTags(%q, %v) = %q, want %q", tc.filter, tc.launches, got, tc.want)
		}
	}
}

func TestTagPasses(t *testing.T) {
	tests := []struct {
		name, filter string
		qtags        []string
		want         passes
	}{
		{"none quarantined", "", nil, passes{main: "~@serial", serial: "@serial"}},
		{"one", "", []string{"@quarantine(unconfirmed-gauge)"}, passes{
			main: "~@quarantine(unconfirmed-gauge) && ~@serial", serial: "~@quarantine(unconfirmed-gauge) && @serial", quarantine: "@quarantine(unconfirmed-gauge)"}},
		{"two, under a filter", "@soak", []string{"@quarantine", "@quarantine(X-1)"}, passes{
			main:       "@soak && ~@quarantine && ~@quarantine(X-1) && ~@serial",
			serial:     "@soak && ~@quarantine && ~@quarantine(X-1) && @serial",
			quarantine: "@soak && @quarantine,@soak && @quarantine(X-1)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tagPasses(tc.filter, tc.qtags); got != tc.want {
				t.Errorf("tagPasses(%q, %q) = %+v, want %+v", tc.filter, tc.qtags, got, tc.want)
			}
		})
	}
}

func TestFeaturePaths(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "features"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "features", "a.feature"), []byte("Feature: a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		given   []string
		want    string
		errPart string
	}{
		{nil, "features", ""},
		{[]string{"features/a.feature:12"}, "features/a.feature:12", ""},
		{[]string{"../features/a.feature"}, "features/a.feature", ""},
		{[]string{filepath.Join(root, "features", "a.feature") + ":3"}, "features/a.feature:3", ""},
		{[]string{"features/missing.feature:1"}, "", "relative to the project root"},
		{[]string{"/elsewhere/x.feature"}, "", "outside the project"},
	}
	for _, tc := range tests {
		got, err := featurePaths(root, tc.given)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("featurePaths(%q) = %v, %v; want an error containing %q", tc.given, got, err, tc.errPart)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != tc.want {
			t.Errorf("featurePaths(%q) = %v, %v; want %s", tc.given, got, err, tc.want)
		}
	}
}
