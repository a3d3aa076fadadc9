package report

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// errWriter keeps the first write error so the writers can print freely
// and check once at the end.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// fmtDuration rounds to what a reader cares about.
func fmtDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Millisecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}

// fmtPassRate shows "passed/runs", the form that survives any rounding.
func fmtPassRate(passed, runs int) string {
	return fmt.Sprintf("%d/%d", passed, runs)
}

// reqLabel is the requirement verdict as shown to people.
func reqLabel(s ReqStatus) string {
	switch s {
	case ReqProven:
		return "✅ proven"
	case ReqFailing:
		return "❌ failing"
	case ReqQuarantined:
		return "⚠️ quarantined"
	default:
		return "⬜ not covered"
	}
}

// weakLabel is shown instead of "proven" when a mutant that names the requirement survived: the
// suite passes, and would pass with that bug in the gateway too.
const weakLabel = "🟡 weakly proven"

// scenarioMarks lists the qualifiers that must travel with a result.
func scenarioMarks(flaky, quarantined bool) string {
	var m []string
	if flaky {
		m = append(m, "flaky")
	}
	if quarantined {
		m = append(m, "quarantined")
	}
	return strings.Join(m, ", ")
}

// reasonOrDefault makes a missing quarantine reason visible.
func reasonOrDefault(reason string) string {
	if reason == "" {
		return "no reason given"
	}
	return reason
}

// firstLine is the headline of a multi-line error message.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i]) + " …"
	}
	return s
}
