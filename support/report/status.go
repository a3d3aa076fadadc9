package report

import "fmt"

// Status is the result of one scenario in one run, reduced to the five
// values a reader of the report has to understand. Godog's "ambiguous" step
// status is folded into StatusFailed: an ambiguous step is a defect of the
// suite and must never let a requirement look proven.
type Status string

// Scenario results, from best to worst.
const (
	StatusPassed    Status = "passed"
	StatusSkipped   Status = "skipped"
	StatusPending   Status = "pending"
	StatusUndefined Status = "undefined"
	StatusFailed    Status = "failed"
)

// severity orders statuses so that the worst step decides a scenario's result.
func (s Status) severity() int {
	switch s {
	case StatusPassed:
		return 0
	case StatusSkipped:
		return 1
	case StatusPending:
		return 2
	case StatusUndefined:
		return 3
	default:
		return 4
	}
}

// worse reports whether s is worse than o.
func (s Status) worse(o Status) bool { return s.severity() > o.severity() }

// parseStepStatus maps a godog cucumber step status to a Status; an
// unknown value is an error so that a formatter change cannot silently turn
// into "passed".
func parseStepStatus(raw string) (Status, error) {
	switch raw {
	case "passed":
		return StatusPassed, nil
	case "failed", "ambiguous":
		return StatusFailed, nil
	case "skipped":
		return StatusSkipped, nil
	case "undefined":
		return StatusUndefined, nil
	case "pending":
		return StatusPending, nil
	}
	return "", fmt.Errorf("unknown step status %q", raw)
}

// ReqStatus is the verdict on one requirement.
type ReqStatus string

// Requirement verdicts. See the package documentation for the exact rules.
const (
	// ReqProven: the requirement has scenarios and every one passed in its
	// latest run.
	ReqProven ReqStatus = "proven"
	// ReqFailing: a scenario that is not quarantined did not pass (failed,
	// undefined, pending or skipped) in its latest run.
	ReqFailing ReqStatus = "failing"
	// ReqQuarantined: nothing outside quarantine fails, but a quarantined
	// scenario did not pass, so the requirement is not proven either.
	ReqQuarantined ReqStatus = "quarantined"
	// ReqNotCovered: no scenario names the requirement.
	ReqNotCovered ReqStatus = "not covered"
)
