package cluster

import (
	"errors"
	"fmt"
	"strings"
)

// ErrMissingPrerequisite is matched (errors.Is) by every error a Start returns because something
// it needs is absent, so a caller can tell "fix your machine" from "the cluster broke" and fail
// loudly instead of skipping.
var ErrMissingPrerequisite = errors.New("missing prerequisite")

// prereqError is a one-line message that says what is missing and how to get it. The cause stays
// reachable through Unwrap; when it is printed it is flattened to one line, because a multi-line
// error hides the fix in a test log.
type prereqError struct {
	msg   string
	cause error
}

func (e *prereqError) Error() string {
	if e.cause == nil {
		return oneLine(e.msg)
	}
	return oneLine(fmt.Sprintf("%s (%v)", e.msg, e.cause))
}

func (e *prereqError) Unwrap() error { return e.cause }

func (e *prereqError) Is(target error) bool { return target == ErrMissingPrerequisite }

// missing builds a prerequisite error; cause may be nil when it would only repeat msg.
func missing(cause error, format string, args ...any) error {
	return &prereqError{msg: fmt.Sprintf(format, args...), cause: cause}
}

// oneLine joins the lines of s with "; " and trims the whitespace around them.
func oneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
