// Package featurefile reads the suite's Gherkin feature files with the Gherkin parser, into the
// scenarios they state: each with the tags it carries or inherits and the steps it runs, so that
// a check of the features never greps (a tag-like word in a description or a step is not a tag).
package featurefile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"
)

// Scenario is one scenario or scenario outline of a feature file.
type Scenario struct {
	File string
	Line int64
	Name string
	// Tags are the feature's, the rule's and the scenario's own, in that order.
	Tags []string
	// ExampleTags are the tags of its Examples tables.
	ExampleTags []string
	// Rows are the lines of an outline's example rows, one cucumber element each; nil for a
	// plain scenario.
	Rows []int64
	// Steps are the texts of the steps it runs: the backgrounds' (the feature's, then the rule's),
	// then its own.
	Steps []string
}

// HasTag reports whether the scenario carries or inherits tag.
func (s Scenario) HasTag(tag string) bool { return slices.Contains(s.Tags, tag) }

// ReadDir reads every *.feature file of dir; a directory without one is an error.
func ReadDir(dir string) ([]Scenario, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.feature"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no feature files in %s: %v", dir, err)
	}
	var out []Scenario
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", f, err)
		}
		scenarios, err := Parse(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, scenarios...)
	}
	return out, nil
}

// Parse reads one feature file's content; file names it in the scenarios and in errors.
func Parse(file string, data []byte) ([]Scenario, error) {
	doc, err := gherkin.ParseGherkinDocument(bytes.NewReader(data), (&messages.Incrementing{}).NewId)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", file, err)
	}
	if doc.Feature == nil {
		return nil, nil
	}
	w := walker{file: file}
	w.children(tagNames(doc.Feature.Tags), nil, doc.Feature.Children)
	return w.out, nil
}

type walker struct {
	file string
	out  []Scenario
}

func (w *walker) children(inherited, background []string, children []*messages.FeatureChild) {
	for _, c := range children {
		switch {
		case c.Background != nil:
			background = append(slices.Clone(background), stepTexts(c.Background.Steps)...)
		case c.Rule != nil:
			var rc []*messages.FeatureChild
			for _, r := range c.Rule.Children {
				rc = append(rc, &messages.FeatureChild{Background: r.Background, Scenario: r.Scenario})
			}
			w.children(append(slices.Clone(inherited), tagNames(c.Rule.Tags)...), background, rc)
		case c.Scenario != nil:
			w.out = append(w.out, w.scenario(c.Scenario, inherited, background))
		}
	}
}

func (w *walker) scenario(s *messages.Scenario, inherited, background []string) Scenario {
	sc := Scenario{
		File:  w.file,
		Line:  s.Location.Line,
		Name:  s.Name,
		Tags:  append(slices.Clone(inherited), tagNames(s.Tags)...),
		Steps: append(slices.Clone(background), stepTexts(s.Steps)...),
	}
	for _, e := range s.Examples {
		sc.ExampleTags = append(sc.ExampleTags, tagNames(e.Tags)...)
		for _, row := range e.TableBody {
			sc.Rows = append(sc.Rows, row.Location.Line)
		}
	}
	return sc
}

func tagNames(tags []*messages.Tag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, t.Name)
	}
	return out
}

func stepTexts(steps []*messages.Step) []string {
	out := make([]string, 0, len(steps))
	for _, s := range steps {
		out = append(out, s.Text)
	}
	return out
}
