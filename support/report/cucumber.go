package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
)

// Run is the content of one cucumber JSON file: one shard, rerun or flake
// run. Runs are ordered: a later Run is a later execution, and the latest
// result of a scenario is the one shown in the report.
type Run struct {
	// Source names the file, for the report header and for errors.
	Source   string    `json:"source"`
	Features []Feature `json:"features"`
}

// Feature mirrors a feature of godog v0.16's cucumber formatter
// (internal/formatters/fmt_cucumber.go). Only the fields the report needs
// are decoded; unknown fields are ignored so that formatter additions do not
// break the report.
type Feature struct {
	URI         string    `json:"uri"`
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Line        int       `json:"line"`
	Tags        []Tag     `json:"tags,omitempty"`
	Elements    []Element `json:"elements,omitempty"`
}

// Element is a scenario (or one example row of a scenario outline). Godog
// already copies the feature's tags into each element's tags.
type Element struct {
	ID          string `json:"id"`
	Keyword     string `json:"keyword"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Line        int    `json:"line"`
	Type        string `json:"type"`
	Tags        []Tag  `json:"tags,omitempty"`
	Steps       []Step `json:"steps,omitempty"`
}

// Tag is a gherkin tag, including its leading "@".
type Tag struct {
	Name string `json:"name"`
	Line int    `json:"line,omitempty"`
}

// Step is one executed step with its result and attachments.
type Step struct {
	Keyword    string      `json:"keyword"`
	Name       string      `json:"name"`
	Line       int         `json:"line"`
	Result     StepResult  `json:"result"`
	Embeddings []Embedding `json:"embeddings,omitempty"`
}

// StepResult holds godog's status string, the duration in nanoseconds (absent
// for skipped, pending, undefined and ambiguous steps) and the error text.
type StepResult struct {
	Status       string `json:"status"`
	Duration     *int64 `json:"duration,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
}

// Embedding is an attachment made with godog.Attach; Data is base64.
type Embedding struct {
	Name     string `json:"name"`
	MimeType string `json:"mime_type"`
	Data     string `json:"data"`
}

// LoadCucumber reads cucumber JSON files in the given order, which is taken
// as the chronological order of the runs.
func LoadCucumber(paths ...string) ([]Run, error) {
	runs := make([]Run, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read cucumber report: %w", err)
		}
		run, err := ParseCucumber(p, data)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run)
	}
	return runs, nil
}

// ParseCucumber decodes one cucumber JSON document; source names it in
// errors. An empty file is an error of its own because it is what a test
// binary that crashed before its summary leaves behind.
func ParseCucumber(source string, data []byte) (Run, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return Run{}, fmt.Errorf("%s: empty cucumber report (did the test run finish?)", source)
	}
	var features []Feature
	if err := json.Unmarshal(data, &features); err != nil {
		return Run{}, fmt.Errorf("%s: not a cucumber JSON report: %w", source, err)
	}
	for i, f := range features {
		features[i].URI = TrimLine(f.URI) // one name for a scenario however godog selected it
		if f.URI == "" {
			return Run{}, fmt.Errorf("%s: feature %q has no uri", source, f.Name)
		}
		for _, e := range f.Elements {
			for _, s := range e.Steps {
				if _, err := parseStepStatus(s.Result.Status); err != nil {
					return Run{}, fmt.Errorf("%s: %s:%d step %q: %w", source, f.URI, s.Line, s.Name, err)
				}
			}
		}
	}
	return Run{Source: source, Features: features}, nil
}
