package report

import (
	"errors"
	"fmt"
	"slices"
)

// GateError is returned by Gate; Problems lists every traceability error so
// that a CI log shows all of them at once.
type GateError struct {
	Problems []Problem
}

func (e *GateError) Error() string {
	msg := fmt.Sprintf("traceability gate failed: %d problem(s)", len(e.Problems))
	for _, p := range e.Problems {
		msg += "\n  - " + p.Subject + ": " + p.Message
	}
	return msg
}

// Gate fails when the suite and the catalog disagree: an untagged scenario,
// a tag naming no requirement, or a requirement without scenario. Failing
// requirements are not gate errors: the test run itself fails for those.
func (r *Report) Gate() error {
	if len(r.Problems) == 0 {
		return nil
	}
	return &GateError{Problems: slices.Clone(r.Problems)}
}

// ErrGate lets callers tell a gate failure from other errors with errors.Is.
var ErrGate = errors.New("traceability gate failed")

// Is makes errors.Is(err, ErrGate) true for a *GateError.
func (e *GateError) Is(target error) bool { return target == ErrGate }

// Unstable lists the scenarios that make a series of runs (make flake) untrustworthy: every
// scenario that failed in any run, flaky or not, except the quarantined ones. A quarantined
// scenario still runs and its pass rate is reported (its own section of the report, with its
// reason); it is left out here because a quarantine is the report's way of saying "known, and
// here is why" (the reason its tag carries), shown in a section of its own.
func (r *Report) Unstable() []ScenarioRef {
	var out []ScenarioRef
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			if !s.Quarantined && s.Passed < s.Runs {
				out = append(out, s.Ref())
			}
		}
	}
	return out
}

// CoveredOnlyBy lists, in id order, the requirements this report has no scenario for that are
// among elsewhere: in a shard's report, those that other shards' scenarios cover.
func (r *Report) CoveredOnlyBy(elsewhere map[string]bool) []string {
	var out []string
	for _, q := range r.Requirements {
		if q.Status == ReqNotCovered && elsewhere[q.ID] {
			out = append(out, q.ID)
		}
	}
	return out
}

// GateExcept is Gate without the "not covered" problems of the given requirements: a shard's
// gate, which leaves the requirements other shards prove to the merged report.
func (r *Report) GateExcept(requirements []string) error {
	var kept []Problem
	for _, p := range r.Problems {
		if p.Kind == ProblemNotCovered && slices.Contains(requirements, p.Subject) {
			continue
		}
		kept = append(kept, p)
	}
	if len(kept) == 0 {
		return nil
	}
	return &GateError{Problems: kept}
}
