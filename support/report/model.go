package report

import "time"

// SchemaVersion is the version of the traceability.json schema. It changes
// only on an incompatible change, so that dashboards reading the file can
// refuse what they do not understand.
const SchemaVersion = 1

// Report is the whole traceability report. It is also the traceability.json
// document: its JSON form is the stable schema described in the package
// documentation, and ReadJSON restores it exactly.
type Report struct {
	SchemaVersion int `json:"schemaVersion"`
	// Title heads every output; set it before writing.
	Title string `json:"title"`
	// GeneratedAt is free text (e.g. a commit date) shown in the header.
	// Empty by default so that outputs are reproducible.
	GeneratedAt string `json:"generatedAt,omitempty"`
	// Target is what the suite ran against: the cluster provider and how the gateway ran
	// (a process, the deployed container, or a gateway it did not launch).
	Target string `json:"target,omitempty"`
	// Catalog is the path of the requirement catalog.
	Catalog string `json:"catalog"`
	// Sources are the cucumber files, in run order.
	Sources []string `json:"sources"`
	Summary Summary  `json:"summary"`
	// Quarantined lists every quarantined scenario with its reason; it is
	// shown before anything else so a quarantine is never forgotten.
	Quarantined []ScenarioRef `json:"quarantined"`
	// Flaky lists scenarios that both passed and failed across the runs.
	Flaky []ScenarioRef `json:"flaky"`
	// Problems are traceability errors; Gate fails when there is any.
	Problems []Problem `json:"problems"`
	// Requirements in id order, each with its verdict and scenarios.
	Requirements []RequirementResult `json:"requirements"`
	// Features in uri order, each with all its scenarios, traced or not.
	Features []FeatureResult `json:"features"`
	// Mutation is the evidence of the suite's power from `make mutation` (mutation.json), when
	// the report was made with it: absent otherwise.
	Mutation *MutationEvidence `json:"mutation,omitempty"`
}

// Summary holds the figures a release decision starts from.
type Summary struct {
	Requirements ReqCounts      `json:"requirements"`
	Scenarios    ScenarioCounts `json:"scenarios"`
	// CoveredPercent is the share of requirements with at least one scenario.
	CoveredPercent float64 `json:"coveredPercent"`
	// ProvenPercent is the share of requirements whose verdict is proven.
	ProvenPercent float64 `json:"provenPercent"`
	// Areas breaks coverage down by catalog area, in area id order.
	Areas []AreaSummary `json:"areas"`
	// Duration is the sum of all step durations over all runs.
	Duration time.Duration `json:"durationNs"`
	// Runs is the number of cucumber files merged: runs of the suite, or 1 for the shards of one
	// run.
	Runs int `json:"runs"`
	// Shards is the number of shard files merged into one run (trace --shards); 0 otherwise.
	Shards int `json:"shards,omitempty"`
}

// ReqCounts counts requirements by verdict.
type ReqCounts struct {
	Total       int `json:"total"`
	Proven      int `json:"proven"`
	Failing     int `json:"failing"`
	Quarantined int `json:"quarantined"`
	NotCovered  int `json:"notCovered"`
}

// ScenarioCounts counts distinct scenarios by their latest result. Other is
// skipped + undefined + pending. Flaky and Quarantined overlap the others.
type ScenarioCounts struct {
	Total       int `json:"total"`
	Passed      int `json:"passed"`
	Failed      int `json:"failed"`
	Other       int `json:"other"`
	Flaky       int `json:"flaky"`
	Quarantined int `json:"quarantined"`
}

// AreaSummary is the coverage of one catalog area.
type AreaSummary struct {
	ID             string  `json:"id"`
	Title          string  `json:"title"`
	Requirements   int     `json:"requirements"`
	Covered        int     `json:"covered"`
	Proven         int     `json:"proven"`
	CoveredPercent float64 `json:"coveredPercent"`
	ProvenPercent  float64 `json:"provenPercent"`
}

// ProblemKind classifies a traceability error.
type ProblemKind string

// Traceability errors that fail the gate.
const (
	// ProblemUnknownTag: a @BR- tag that is malformed or names no catalog entry.
	ProblemUnknownTag ProblemKind = "unknown-requirement-tag"
	// ProblemUntagged: a scenario with no requirement tag at all.
	ProblemUntagged ProblemKind = "untagged-scenario"
	// ProblemNotCovered: a catalog requirement no scenario names.
	ProblemNotCovered ProblemKind = "requirement-not-covered"
)

// Problem is one traceability error. Subject is "uri:line" for scenario
// problems and the requirement id for coverage problems.
type Problem struct {
	Kind    ProblemKind `json:"kind"`
	Subject string      `json:"subject"`
	Message string      `json:"message"`
}

// RequirementResult is a catalog requirement with its verdict.
type RequirementResult struct {
	ID        string        `json:"id"`
	Title     string        `json:"title"`
	Statement string        `json:"statement"`
	Area      string        `json:"area"`
	AreaTitle string        `json:"areaTitle"`
	Status    ReqStatus     `json:"status"`
	Scenarios []ScenarioRef `json:"scenarios"`
	// Mutation is how many of the mutants that name the requirement the suite caught; absent
	// when the report was made without mutation results.
	Mutation *RequirementMutation `json:"mutation,omitempty"`
}

// ScenarioRef is the short form of a scenario used in lists.
type ScenarioRef struct {
	URI              string        `json:"uri"`
	Feature          string        `json:"feature"`
	Name             string        `json:"name"`
	Line             int           `json:"line"`
	Result           Status        `json:"result"`
	Duration         time.Duration `json:"durationNs"`
	Runs             int           `json:"runs"`
	Passed           int           `json:"passed"`
	PassRate         float64       `json:"passRate"`
	Flaky            bool          `json:"flaky"`
	Quarantined      bool          `json:"quarantined"`
	QuarantineReason string        `json:"quarantineReason,omitempty"`
}

// FeatureResult groups the scenarios of one feature file.
type FeatureResult struct {
	URI       string           `json:"uri"`
	Name      string           `json:"name"`
	Scenarios []ScenarioResult `json:"scenarios"`
}

// ScenarioResult is one scenario merged over all runs. Its identity is
// (URI, Name, Line).
type ScenarioResult struct {
	URI     string `json:"uri"`
	Feature string `json:"feature"`
	Name    string `json:"name"`
	Line    int    `json:"line"`
	// Tags as in the latest run, sorted, without duplicates.
	Tags []string `json:"tags"`
	// Requirements are the catalog ids the scenario's tags name.
	Requirements []string `json:"requirements"`
	// Result and Duration are those of the latest run.
	Result   Status        `json:"result"`
	Duration time.Duration `json:"durationNs"`
	Runs     int           `json:"runs"`
	Passed   int           `json:"passed"`
	Failed   int           `json:"failed"`
	// PassRate is Passed / Runs.
	PassRate         float64 `json:"passRate"`
	Flaky            bool    `json:"flaky"`
	Quarantined      bool    `json:"quarantined"`
	QuarantineReason string  `json:"quarantineReason,omitempty"`
	// History has one entry per run the scenario appeared in, oldest first.
	History []Attempt `json:"history"`
}

// Attempt is the outcome of a scenario in one run.
type Attempt struct {
	Source   string        `json:"source"`
	Result   Status        `json:"result"`
	Duration time.Duration `json:"durationNs"`
	// Failure is set when Result is not passed.
	Failure *Failure `json:"failure,omitempty"`
}

// Failure explains why an attempt did not pass: the first step with the
// worst status, its error, and the attachments of the whole attempt (hooks
// attach diagnostics to whichever step was running).
type Failure struct {
	Step        string       `json:"step"`
	Line        int          `json:"line"`
	Message     string       `json:"message"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is an embedding made with godog.Attach; Data stays base64 as
// in the cucumber file.
type Attachment struct {
	Name     string `json:"name"`
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

// Latest returns the attempt of the latest run.
func (s ScenarioResult) Latest() Attempt {
	if len(s.History) == 0 {
		return Attempt{}
	}
	return s.History[len(s.History)-1]
}

// Ref returns the short form of s.
func (s ScenarioResult) Ref() ScenarioRef {
	return ScenarioRef{
		URI: s.URI, Feature: s.Feature, Name: s.Name, Line: s.Line,
		Result: s.Result, Duration: s.Duration, Runs: s.Runs, Passed: s.Passed, PassRate: s.PassRate,
		Flaky: s.Flaky, Quarantined: s.Quarantined, QuarantineReason: s.QuarantineReason,
	}
}
