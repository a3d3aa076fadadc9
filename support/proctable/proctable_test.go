package proctable

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Proc
		ok   bool
	}{
		{"plain", "42 (etcd) S 7 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0", Proc{PID: 42, PPID: 7, Comm: "etcd", State: "S", CPU: 3}, true},
		{"comm with spaces and parentheses", "9 (a (b) c) Z 1 9 9 0 -1 0 0 0 0 0 1 1 0 0", Proc{PID: 9, PPID: 1, Comm: "a (b) c", State: "Z", CPU: 0.02}, true},
		{"truncated", "9 (x) S 1 2", Proc{}, false},
		{"no comm", "9 x S 1", Proc{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parse(tt.line)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestBelow(t *testing.T) {
	tab := Table{10: {PID: 10, PPID: 1}, 11: {PID: 11, PPID: 10}, 12: {PID: 12, PPID: 11}, 20: {PID: 20, PPID: 1}}
	assert.True(t, tab.Below(12, 10))
	assert.True(t, tab.Below(11, 10))
	assert.False(t, tab.Below(10, 10), "not below itself")
	assert.False(t, tab.Below(20, 10))
	assert.False(t, tab.Below(99, 10), "unknown")
}

func TestReadSeesAChild(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	tab := Read()
	p, ok := tab[cmd.Process.Pid]
	require.True(t, ok)
	assert.Equal(t, "sleep", p.Comm)
	assert.Equal(t, os.Getpid(), p.PPID)
	assert.True(t, tab.Below(cmd.Process.Pid, os.Getpid()))
}
