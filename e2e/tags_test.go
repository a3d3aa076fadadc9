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

func TestCheckTags(t *testing.T) {
	tests := []struct{ filter, errPart string }{
		{"", ""},
		{"@resilience", ""},
		{"@dedup && ~@dedicated-gateway,@ops", ""},
		{"(@a) && ~@b", "no parentheses"},
		{"@a or @b", "no parentheses"},
		{"resilience", "is not a tag"},
	}
	for _, tc := range tests {
		err := checkTags(tc.filter)
		if tc.errPart == "" && err != nil {
			t.Errorf("checkTags(%q) = %v, want nil", tc.filter, err)
		}
		if tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("checkTags(%q) = %v, want an error containing %q", tc.filter, err, tc.errPart)
		}
	}
}

func TestQuarantineTags(t *testing.T) {
	dir := t.TempDir()
	feature := "@ingestion\nFeature: f\n\n  @BR-GATEWAY-001 @quarantine(ISSUE-7)\n  Scenario: s\n\n  @quarantine\n  Scenario: t\n"
	if err := os.WriteFile(filepath.Join(dir, "a.feature"), []byte(feature), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := quarantineTags(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "@quarantine @quarantine(ISSUE-7)" {
		t.Fatalf("quarantineTags() = %v", got)
	}
	if _, err := quarantineTags(t.TempDir()); err == nil {
		t.Fatal("quarantineTags() of a directory without features = nil error")
	}
}

func TestMergeQuarantine(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cucumber.json", `[{"uri":"features/a.feature","elements":[{"name":"main"}]}]`)
	write("cucumber-quarantine.json", `[{"uri":"features/a.feature","elements":[{"name":"quarantined"}]}]`)
	if err := mergeQuarantine(dir); err != nil {
		t.Fatal(err)
	}
	merged, err := os.ReadFile(filepath.Join(dir, "cucumber.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(merged), `"main"`) || !strings.Contains(string(merged), `"quarantined"`) {
		t.Fatalf("merged cucumber.json lacks a pass: %s", merged)
	}
	if _, err := os.Stat(filepath.Join(dir, "cucumber-quarantine.json")); !os.IsNotExist(err) {
		t.Fatalf("the quarantine file was not folded in: %v", err)
	}
	write("cucumber-quarantine.json", `not json`)
	if err := mergeQuarantine(dir); err == nil || !strings.Contains(err.Error(), "is not cucumber JSON") {
		t.Fatalf("mergeQuarantine() on bad JSON = %v", err)
	}
}
