package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

// MutationFile is the name of the mutation testing results that `make mutation`
// (support/cmd/mutation) writes into the report directory, and that Generate reads when
// Inputs.Mutation names it.
const MutationFile = "mutation.json"

// MutationSchemaVersion is the version of the mutation.json schema; it changes only on an
// incompatible change.
const MutationSchemaVersion = 1

// MutantStatus is what became of one mutant of the gateway.
type MutantStatus string

// Mutant outcomes. Only killed, survived and equivalent are judged; the others are defects of
// the mutant catalog (hack/mutants/catalog.yaml) that `make mutation` refuses.
const (
	// MutantKilled: the suite failed against the mutant with one of its requirements failing.
	MutantKilled MutantStatus = "killed"
	// MutantSurvived: the suite did not notice the mutant.
	MutantSurvived MutantStatus = "survived"
	// MutantEquivalent: the mutant survived, and the catalog accepts it as equivalent to the
	// gateway, with a reason.
	MutantEquivalent MutantStatus = "equivalent"
	// MutantStale: the mutant no longer applies (its old text is not in the file exactly once).
	MutantStale MutantStatus = "stale"
	// MutantUnchanged: the mutant changes nothing (the built gateway is byte-identical).
	MutantUnchanged MutantStatus = "unchanged"
	// MutantBroken: the mutant does not build.
	MutantBroken MutantStatus = "broken"
	// MutantError: the suite's run against the mutant could not be judged.
	MutantError MutantStatus = "error"
)

// Judged reports whether the status is a verdict on the suite (killed, survived, equivalent)
// rather than a defect of the catalog or of the run.
func (s MutantStatus) Judged() bool {
	return s == MutantKilled || s == MutantSurvived || s == MutantEquivalent
}

// Mutation is the mutation.json document: the suite's power measured by mutants of the gateway,
// each a small plausible bug that names the requirements whose scenarios must catch it, and the
// gateway's statement coverage over a whole run of the suite.
type Mutation struct {
	SchemaVersion int `json:"schemaVersion"`
	// GeneratedAt is when the measurement was made (RFC 3339), shown in the report.
	GeneratedAt string `json:"generatedAt,omitempty"`
	// Catalog is the mutant catalog's path.
	Catalog string `json:"catalog"`
	// Duration is the wall time of the whole measurement.
	Duration time.Duration `json:"durationNs"`
	// Parallel is how many suite runs went at once.
	Parallel int `json:"parallel"`
	// Partial is set when only some of the catalog's mutants were run (--only).
	Partial bool `json:"partial,omitempty"`
	// Baseline is the whole suite against the unmutated (coverage-instrumented) gateway: a
	// scenario that failed there cannot kill a mutant.
	Baseline *MutationBaseline `json:"baseline,omitempty"`
	// Coverage is the gateway's statement coverage over the baseline run.
	Coverage *Coverage       `json:"coverage,omitempty"`
	Summary  MutationSummary `json:"summary"`
	Mutants  []MutantResult  `json:"mutants"`
}

// MutationBaseline is the suite's run against the gateway as it is.
type MutationBaseline struct {
	Scenarios int `json:"scenarios"`
	Passed    int `json:"passed"`
	// Failed lists the scenarios that did not pass ("uri:line name").
	Failed   []string      `json:"failed,omitempty"`
	Duration time.Duration `json:"durationNs"`
}

// MutationSummary holds the figures of a mutation run.
type MutationSummary struct {
	Mutants    int `json:"mutants"`
	Killed     int `json:"killed"`
	Survived   int `json:"survived"`
	Equivalent int `json:"equivalent"`
	// Invalid counts stale, unchanged, broken and unjudged mutants.
	Invalid int `json:"invalid"`
	// KillRate is killed / (killed + survived) in percent, one decimal: the accepted
	// equivalent mutants are left out, since no test can tell them from the gateway.
	KillRate float64 `json:"killRate"`
}

// MutantResult is one mutant and what the suite made of it.
type MutantResult struct {
	ID          string   `json:"id"`
	Description string   `json:"description"`
	Files       []string `json:"files"`
	// Requirements are the catalog ids whose scenarios must catch the mutant.
	Requirements []string `json:"requirements"`
	// Equivalent is the catalog's reason for accepting the mutant's survival, if any.
	Equivalent string       `json:"equivalent,omitempty"`
	Status     MutantStatus `json:"status"`
	// Tags is the scenario filter its run used.
	Tags     string        `json:"tags,omitempty"`
	ExitCode int           `json:"exitCode"`
	Duration time.Duration `json:"durationNs"`
	// Killers are the scenarios that caught it: failed against the mutant, passed against the
	// gateway, and naming one of its requirements ("uri:line name").
	Killers []string `json:"killers,omitempty"`
	// FailingRequirements are its requirements that failed against it.
	FailingRequirements []string `json:"failingRequirements,omitempty"`
	// Detail says why a mutant is stale, unchanged, broken or unjudged, or how it was killed
	// when no scenario could run (the gateway did not start).
	Detail string `json:"detail,omitempty"`
}

// Coverage is the gateway's Go statement coverage over one run of the whole suite.
type Coverage struct {
	// Percent of the statements of the gateway's packages that the suite executed.
	Percent  float64           `json:"percent"`
	Packages []PackageCoverage `json:"packages"`
	// LeastCovered are the functions with the most statements the suite never ran, most first.
	LeastCovered []FunctionCoverage `json:"leastCovered"`
}

// PackageCoverage is the statement coverage of one package.
type PackageCoverage struct {
	Package string  `json:"package"`
	Percent float64 `json:"percent"`
}

// FunctionCoverage is the statement coverage of one function.
type FunctionCoverage struct {
	Function string  `json:"function"`
	File     string  `json:"file"`
	Line     int     `json:"line"`
	Percent  float64 `json:"percent"`
	// Statements is how many statements the function has; Uncovered how many the suite never ran.
	Statements int `json:"statements"`
	Uncovered  int `json:"uncovered"`
}

// Summarize recomputes the summary from the mutants.
func (m *Mutation) Summarize() {
	s := MutationSummary{Mutants: len(m.Mutants)}
	for _, mu := range m.Mutants {
		switch mu.Status {
		case MutantKilled:
			s.Killed++
		case MutantSurvived:
			s.Survived++
		case MutantEquivalent:
			s.Equivalent++
		default:
			s.Invalid++
		}
	}
	s.KillRate = percent(s.Killed, s.Killed+s.Survived)
	m.Summary = s
}

// WriteJSON writes mutation.json.
func (m *Mutation) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return fmt.Errorf("write mutation json: %w", err)
	}
	return nil
}

// ReadMutation reads a mutation.json, refusing another schema version or an unknown field.
func ReadMutation(rd io.Reader) (*Mutation, error) {
	var m Mutation
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("read mutation json: %w", err)
	}
	if m.SchemaVersion != MutationSchemaVersion {
		return nil, fmt.Errorf("read mutation json: schema version %d, want %d", m.SchemaVersion, MutationSchemaVersion)
	}
	return &m, nil
}

// LoadMutation reads the mutation.json at path.
func LoadMutation(path string) (*Mutation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the mutation results: %w", err)
	}
	defer f.Close()
	m, err := ReadMutation(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// MutationEvidence is what the traceability report shows of a mutation run.
type MutationEvidence struct {
	// Source is the mutation.json the evidence was read from.
	Source      string          `json:"source"`
	GeneratedAt string          `json:"generatedAt,omitempty"`
	Partial     bool            `json:"partial,omitempty"`
	Summary     MutationSummary `json:"summary"`
	// WeaklyProven counts the proven requirements that a surviving mutant names.
	WeaklyProven int `json:"weaklyProven"`
	// Survivors are the mutants that survived without being accepted as equivalent.
	Survivors []MutantRef `json:"survivors"`
	// Invalid are the mutants the run refused or could not judge.
	Invalid  []MutantRef `json:"invalid"`
	Coverage *Coverage   `json:"coverage,omitempty"`
}

// RequirementMutation is the mutation evidence of one requirement.
type RequirementMutation struct {
	// Mutants counts the judged mutants that name the requirement; Caught those the suite
	// killed; Equivalent those accepted as equivalent.
	Mutants    int `json:"mutants"`
	Caught     int `json:"caught"`
	Equivalent int `json:"equivalent"`
	// Survivors are the surviving mutants that name it and are not accepted as equivalent.
	Survivors []MutantRef `json:"survivors"`
	// Weak is set when the requirement is proven but a mutant that names it survived: the
	// suite passes, and would pass with that bug too.
	Weak bool `json:"weak"`
}

// MutantRef is the short form of a mutant in the report.
type MutantRef struct {
	ID          string       `json:"id"`
	Description string       `json:"description"`
	Status      MutantStatus `json:"status"`
	Detail      string       `json:"detail,omitempty"`
}

func (m MutantResult) ref() MutantRef {
	return MutantRef{ID: m.ID, Description: m.Description, Status: m.Status, Detail: m.Detail}
}

// AttachMutation adds the evidence of a mutation run to the report: per requirement, how many
// of its mutants the suite caught and which survived; in the summary, the kill rate, the weakly
// proven requirements and the gateway's statement coverage. source names the file.
func (r *Report) AttachMutation(m *Mutation, source string) {
	ev := &MutationEvidence{Source: source, GeneratedAt: m.GeneratedAt, Partial: m.Partial,
		Summary: m.Summary, Survivors: []MutantRef{}, Invalid: []MutantRef{}, Coverage: m.Coverage}
	byReq := map[string]*RequirementMutation{}
	for _, mu := range m.Mutants {
		switch {
		case mu.Status == MutantSurvived:
			ev.Survivors = append(ev.Survivors, mu.ref())
		case !mu.Status.Judged():
			ev.Invalid = append(ev.Invalid, mu.ref())
			continue
		}
		for _, id := range mu.Requirements {
			rm := byReq[id]
			if rm == nil {
				rm = &RequirementMutation{Survivors: []MutantRef{}}
				byReq[id] = rm
			}
			rm.Mutants++
			switch mu.Status {
			case MutantKilled:
				rm.Caught++
			case MutantEquivalent:
				rm.Equivalent++
			case MutantSurvived:
				rm.Survivors = append(rm.Survivors, mu.ref())
			}
		}
	}
	for i := range r.Requirements {
		req := &r.Requirements[i]
		rm := byReq[req.ID]
		if rm == nil {
			rm = &RequirementMutation{Survivors: []MutantRef{}}
		}
		slices.SortFunc(rm.Survivors, func(a, b MutantRef) int { return cmp.Compare(a.ID, b.ID) })
		rm.Weak = req.Status == ReqProven && len(rm.Survivors) > 0
		if rm.Weak {
			ev.WeaklyProven++
		}
		req.Mutation = rm
	}
	r.Mutation = ev
}

// mutationLabel is a requirement's mutation evidence in a table cell: "3 of 3 caught".
func mutationLabel(rm *RequirementMutation) string {
	if rm == nil {
		return ""
	}
	if rm.Mutants == 0 {
		return "no mutants"
	}
	s := fmt.Sprintf("%d of %d caught", rm.Caught, rm.Mutants)
	if rm.Equivalent > 0 {
		s += fmt.Sprintf(", %d equivalent", rm.Equivalent)
	}
	return s
}
