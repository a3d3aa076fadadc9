// Package lifecycle pairs every setup with its undo. A Stack collects undos as setup proceeds and
// runs them in reverse, each once, whatever happened: a stage that failed, a panic, or the normal
// end of a run. The model is e2e-framework's pkg/env, whose Setup and Finish functions always
// pair; here the pairing is per resource, so that a failure half-way through a setup releases
// exactly what was started before it and nothing else.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Undo releases one thing a setup made.
type Undo func(ctx context.Context) error

// Stack is a last-in, first-out list of undos. The zero value is ready to use; it is safe for
// concurrent use.
type Stack struct {
	mu    sync.Mutex
	undos []named
}

type named struct {
	name string
	fn   Undo
}

// Push records the undo of something that now exists. name says what it releases, for errors.
func (s *Stack) Push(name string, fn Undo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.undos = append(s.undos, named{name, fn})
}

// Len is the number of undos not yet run.
func (s *Stack) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.undos)
}

// Unwind runs every undo in reverse order, each exactly once (a second Unwind runs only what was
// pushed since), and joins their errors. It keeps going after a failed undo: one stuck resource
// must not leak all the others.
func (s *Stack) Unwind(ctx context.Context) error {
	s.mu.Lock()
	undos := s.undos
	s.undos = nil
	s.mu.Unlock()
	var errs []error
	for i := len(undos) - 1; i >= 0; i-- {
		if err := runUndo(ctx, undos[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runUndo turns a panicking undo into an error, so that the undos after it still run.
func runUndo(ctx context.Context, u named) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("undo %s panicked: %v", u.name, r)
		}
	}()
	if e := u.fn(ctx); e != nil {
		return fmt.Errorf("undo %s: %w", u.name, e)
	}
	return nil
}

// Stage is one step of a setup. It pushes the undo of whatever it creates onto the stack as soon
// as that thing exists, before doing anything that could fail after it.
type Stage struct {
	Name string
	Run  func(ctx context.Context, undo *Stack) error
}

// Inject is a test's hook into Setup: called before each stage, an error it returns fails that
// stage as if the stage had failed itself.
type Inject func(stage string) error

// Setup runs the stages in order. When one fails (or panics), it unwinds the stack and returns
// the stage's error, in one line, with any undo failures after it; a panic is re-raised after the
// unwind so that the crash is still a crash, but leaves nothing running.
func Setup(ctx context.Context, stages []Stage, undo *Stack, inject Inject) (err error) {
	current := ""
	defer func() {
		if r := recover(); r != nil {
			_ = undo.Unwind(context.WithoutCancel(ctx))
			panic(fmt.Sprintf("setup stage %s panicked: %v", current, r))
		}
	}()
	for _, st := range stages {
		current = st.Name
		if err := ctx.Err(); err != nil { // interrupted: start nothing more, release what was started
			return fail(ctx, undo, st.Name, fmt.Errorf("not started: %w", context.Cause(ctx)))
		}
		if inject != nil {
			if err := inject(st.Name); err != nil {
				return fail(ctx, undo, st.Name, err)
			}
		}
		if err := st.Run(ctx, undo); err != nil {
			return fail(ctx, undo, st.Name, err)
		}
	}
	return nil
}

func fail(ctx context.Context, undo *Stack, stage string, err error) error {
	uerr := undo.Unwind(context.WithoutCancel(ctx))
	e := &StageError{Stage: stage, Err: err}
	if uerr != nil {
		e.Undo = uerr
	}
	return e
}

// StageError is a failed setup: the stage, its error, and whatever failed while undoing.
type StageError struct {
	Stage string
	Err   error
	Undo  error
}

// Error is one line: a multi-line error hides the fix in a test log.
func (e *StageError) Error() string {
	msg := fmt.Sprintf("setup (%s): %v", e.Stage, e.Err)
	if e.Undo != nil {
		msg += fmt.Sprintf("; and undoing the stages before it: %v", e.Undo)
	}
	return OneLine(msg)
}

func (e *StageError) Unwrap() error { return e.Err }

// OneLine joins the lines of s with "; ".
func OneLine(s string) string {
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
