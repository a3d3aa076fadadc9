package poll

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		check   func(n int32) (bool, string, error)
		wantErr []string
	}{
		{name: "holds at once", check: func(int32) (bool, string, error) { return true, "", nil }},
		{name: "holds on the third poll", check: func(n int32) (bool, string, error) { return n >= 3, "count below 3", nil }},
		{name: "never holds", check: func(int32) (bool, string, error) { return false, "phase Pending", nil },
			wantErr: []string{"timed out after", "waiting for the thing", "last saw phase Pending"}},
		{name: "error stops the wait", check: func(int32) (bool, string, error) { return false, "", boom },
			wantErr: []string{"waiting for the thing", "boom"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int32
			err := Defaults().Until(context.Background(), 300*time.Millisecond, "the thing", func(context.Context) (bool, string, error) {
				return tc.check(n.Add(1))
			})
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Until() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Until() = nil, want an error")
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Until() error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// A zero (or passed) bound checks once; it must not turn into klient/wait's "no bound".
func TestUntilWithNoTimeLeftChecksOnce(t *testing.T) {
	for _, timeout := range []time.Duration{0, -time.Second} {
		var n atomic.Int32
		start := time.Now()
		err := Defaults().Until(context.Background(), timeout, "the thing", func(context.Context) (bool, string, error) {
			return n.Add(1) > 1, "one check", nil
		})
		if err == nil || !strings.Contains(err.Error(), "last saw one check") {
			t.Errorf("Until(%s) = %v, want a timeout naming what it saw", timeout, err)
		}
		if n.Load() != 1 || time.Since(start) > time.Second {
			t.Errorf("Until(%s) checked %d times in %s, want once at once", timeout, n.Load(), time.Since(start))
		}
		if err := Defaults().Until(context.Background(), timeout, "the thing", func(context.Context) (bool, string, error) { return true, "", nil }); err != nil {
			t.Errorf("Until(%s) with a check that holds = %v, want nil", timeout, err)
		}
	}
}

func TestConsistently(t *testing.T) {
	if err := Defaults().Hold(context.Background(), "count stays 1", func(context.Context) (bool, string, error) { return true, "", nil }); err != nil {
		t.Fatalf("Consistently() = %v", err)
	}
	var n atomic.Int32
	err := Defaults().Hold(context.Background(), "count stays 1", func(context.Context) (bool, string, error) {
		return n.Add(1) < 3, "count 2", nil
	})
	if err == nil || !strings.Contains(err.Error(), "saw count 2") {
		t.Fatalf("Consistently() = %v, want a failure naming what it saw", err)
	}
}
