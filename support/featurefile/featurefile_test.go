package featurefile

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const feature = `@area
Feature: F
  A description that mentions @notatag.

  Background:
    Given the feature's background

  Scenario: plain
    When it runs
      """
      @notatag either
      """

  Rule: R
    Background:
      Given the rule's background

    @rule-scenario
    Scenario Outline: outline
      When it runs with <x>

      @ex
      Examples:
        | x |
        | 1 |
`

func TestParse(t *testing.T) {
	got, err := Parse("f.feature", []byte(feature))
	if err != nil {
		t.Fatal(err)
	}
	want := []Scenario{
		{File: "f.feature", Line: 8, Name: "plain", Tags: []string{"@area"},
			Steps: []string{"the feature's background", "it runs"}},
		{File: "f.feature", Line: 19, Name: "outline", Tags: []string{"@area", "@rule-scenario"}, ExampleTags: []string{"@ex"}, Rows: []int64{25},
			Steps: []string{"the feature's background", "the rule's background", "it runs with <x>"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
	}
	if !got[1].HasTag("@area") || got[1].HasTag("@ex") || got[0].HasTag("@notatag") {
		t.Error("HasTag: the inherited tags count, Examples' tags and words in text do not")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, text string
		wantErr    bool
		wantN      int
	}{
		{"empty file", "", false, 0},
		{"not Gherkin", "Feature: a\n  Scenario: b\n    Given c\n  Nonsense: d\n", true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse("x.feature", []byte(tc.text))
			if (err != nil) != tc.wantErr || len(got) != tc.wantN {
				t.Errorf("Parse = %v, %v; want %d scenarios, error %t", got, err, tc.wantN, tc.wantErr)
			}
		})
	}
}

func TestReadDir(t *testing.T) {
	if _, err := ReadDir(t.TempDir()); err == nil {
		t.Error("a directory without features: nil error")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.feature"), []byte(feature), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDir(dir)
	if err != nil || len(got) != 2 || got[0].File != filepath.Join(dir, "f.feature") {
		t.Errorf("ReadDir = %v, %v", got, err)
	}
}
