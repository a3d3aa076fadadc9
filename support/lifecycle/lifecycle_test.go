package lifecycle

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSetupUnwindsWhatWasStarted(t *testing.T) {
	boom := errors.New("boom\nsecond line")
	names := []string{"cluster", "clients", "gateway"}
	for failAt := 0; failAt <= len(names); failAt++ {
		var started, undone []string
		var stack Stack
		var stages []Stage
		for _, n := range names {
			stages = append(stages, Stage{Name: n, Run: func(ctx context.Context, u *Stack) error {
				started = append(started, n)
				u.Push(n, func(context.Context) error { undone = append(undone, n); return nil })
				return nil
			}})
		}
		inject := func(stage string) error {
			if failAt < len(names) && stage == names[failAt] {
				return boom
			}
			return nil
		}
		err := Setup(context.Background(), stages, &stack, inject)
		if failAt == len(names) {
			if err != nil || stack.Len() != len(names) {
				t.Fatalf("no failure: err=%v, %d undos pending", err, stack.Len())
			}
			continue
		}
		if err == nil || !errors.Is(err, boom) || strings.Contains(err.Error(), "\n") {
			t.Fatalf("fail at %s: err = %q, want boom on one line", names[failAt], err)
		}
		if !strings.Contains(err.Error(), "setup ("+names[failAt]+")") {
			t.Errorf("error %q does not name the stage", err)
		}
		want := []string{}
		for i := failAt - 1; i >= 0; i-- {
			want = append(want, names[i])
		}
		if !reflect.DeepEqual(append([]string{}, undone...), want) || stack.Len() != 0 {
			t.Errorf("fail at %s: undone %v, want %v (pending %d)", names[failAt], undone, want, stack.Len())
		}
	}
}

// An interrupt (the context cancelled) during one stage stops the setup before the next, and
// releases what was started, including the stage that was running when it came.
func TestSetupStopsWhenInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	interrupt := errors.New("interrupt")
	var undone []string
	var stack Stack
	stage := func(name string, then func()) Stage {
		return Stage{Name: name, Run: func(_ context.Context, u *Stack) error {
			u.Push(name, func(context.Context) error { undone = append(undone, name); return nil })
			then()
			return nil
		}}
	}
	started := false
	err := Setup(ctx, []Stage{
		stage("cluster", func() {}),
		stage("gateway build", func() { cancel(interrupt) }),
		stage("gateway", func() { started = true }),
	}, &stack, nil)
	if !errors.Is(err, interrupt) || !strings.Contains(err.Error(), "setup (gateway)") {
		t.Fatalf("err = %v, want the interrupt, before the gateway stage", err)
	}
	if started || !reflect.DeepEqual(undone, []string{"gateway build", "cluster"}) || stack.Len() != 0 {
		t.Errorf("gateway started %t, undone %v, pending %d", started, undone, stack.Len())
	}
}

func TestSetupPanicUnwindsAndRepanics(t *testing.T) {
	var stack Stack
	undone := false
	defer func() {
		if recover() == nil {
			t.Fatal("the panic was swallowed")
		}
		if !undone {
			t.Fatal("the stage before the panic was not undone")
		}
	}()
	_ = Setup(context.Background(), []Stage{
		{Name: "a", Run: func(_ context.Context, u *Stack) error {
			u.Push("a", func(context.Context) error { undone = true; return nil })
			return nil
		}},
		{Name: "b", Run: func(context.Context, *Stack) error { panic("nil pointer") }},
	}, &stack, nil)
}

func TestUnwindKeepsGoingAndRunsOnce(t *testing.T) {
	var stack Stack
	var ran []string
	stack.Push("first", func(context.Context) error { ran = append(ran, "first"); return nil })
	stack.Push("stuck", func(context.Context) error { ran = append(ran, "stuck"); return errors.New("still there") })
	stack.Push("panics", func(context.Context) error { ran = append(ran, "panics"); panic("x") })
	err := stack.Unwind(context.Background())
	if !reflect.DeepEqual(ran, []string{"panics", "stuck", "first"}) {
		t.Fatalf("ran %v", ran)
	}
	if err == nil || !strings.Contains(err.Error(), "still there") || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("err = %v", err)
	}
	if err := stack.Unwind(context.Background()); err != nil || len(ran) != 3 {
		t.Fatalf("second unwind ran again: %v %v", ran, err)
	}
}
