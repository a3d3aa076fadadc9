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
