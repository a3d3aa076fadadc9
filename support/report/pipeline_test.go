package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuarantineTags(t *testing.T) {
	dir := t.TempDir()
	feature := `@ingestion
Feature: f
  A description that mentions @quarantine(NOT-A-TAG) in passing.

  @BR-GATEWAY-001 @quarantine(fault-proxy-wait)
  Scenario: s
    Given a step that says @quarantine(ALSO-NOT)

  Rule: r
    @quarantine
    Scenario: t
`
	if err := os.WriteFile(filepath.Join(dir, "a.feature"), []byte(feature), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := QuarantineTags(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "@quarantine @quarantine(fault-proxy-wait)" {
		t.Fatalf("QuarantineTags() = %v: a tag-like word in a description or step must not count", got)
	}
	if _, err := QuarantineTags(t.TempDir()); err == nil {
		t.Fatal("QuarantineTags() of a directory without features = nil error")
	}
}

func TestMergeCucumber(t *testing.T) {
	dir := t.TempDir()
	main, quarantine := filepath.Join(dir, "cucumber.json"), filepath.Join(dir, "cucumber-quarantine.json")
	write := func(path, body string) {
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(main, `[{"uri":"features/a.feature","elements":[{"name":"main"}]}]`)
	write(quarantine, `[{"uri":"features/a.feature","elements":[{"name":"quarantined"}]}]`)
	if err := MergeCucumber(main, main, quarantine); err != nil {
		t.Fatal(err)
	}
	merged, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(merged), `"main"`) || !strings.Contains(string(merged), `"quarantined"`) {
		t.Fatalf("merged cucumber.json lacks a pass: %s", merged)
	}
	if _, err := os.Stat(quarantine); !os.IsNotExist(err) {
		t.Fatalf("the quarantine file was not folded in: %v", err)
	}
	write(quarantine, `not json`)
	if err := MergeCucumber(main, main, quarantine); err == nil || !strings.Contains(err.Error(), "is not cucumber JSON") {
		t.Fatalf("MergeCucumber() on bad JSON = %v", err)
	}
}
