package gobuild

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLockWaitsAndHonoursCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	var log strings.Builder
	unlock, err := Lock(context.Background(), path, &log, "thing", "the thing")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path, &log, "thing", "the thing"); err == nil || !strings.Contains(err.Error(), "waiting for the build lock") {
		t.Fatalf("second Lock() = %v, want it to wait and give up with the context", err)
	}
	if !strings.Contains(log.String(), "thing: another process is building the thing") {
		t.Errorf("the wait was not announced: %q", log.String())
	}
	unlock()
	unlock() // safe twice
	unlock2, err := Lock(context.Background(), path, &log, "thing", "the thing")
	if err != nil {
		t.Fatalf("Lock() after unlock = %v", err)
	}
	unlock2()
}

// TestKeyCoversEveryInput changes each input in turn and expects a new key.
func TestKeyCoversEveryInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module x\n")
	write("go.sum", "")
	b := Build{What: "x", ModuleDir: dir, Ldflags: "-s", Env: []string{"CGO_ENABLED=0"}}
	key := func() string {
		t.Helper()
		k, err := b.Key()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	seen := map[string]string{key(): "base"}
	for _, change := range []struct {
		name string
		do   func()
	}{
		{"go.mod", func() { write("go.mod", "module x\nrequire y v1.0.0\n") }},
		{"go.sum", func() { write("go.sum", "y v1.0.0 h1:abc=\n") }},
		{"ldflags", func() { b.Ldflags = "-s -w" }},
		{"env", func() { b.Env = []string{"CGO_ENABLED=1"} }},
	} {
		change.do()
		k := key()
		if prev, ok := seen[k]; ok {
			t.Errorf("changing %s kept the key of %s", change.name, prev)
		}
		seen[k] = change.name
	}
	if _, err := (Build{What: "y", ModuleDir: t.TempDir()}).Key(); err == nil {
		t.Error("Key() of a directory without go.mod succeeded")
	}
}

func TestEnsureReusesACompleteBuildAndRedoesAPartialOne(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a small program")
	}
	mod := t.TempDir()
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/hello\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.sum"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte("package main\n\nvar v = \"unset\"\n\nfunc main() { println(v) }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := Build{Prefix: "hello", What: "hello", ModuleDir: mod, Ldflags: "-X main.v=set",
		Env: []string{"CGO_ENABLED=0"}, Binaries: []Binary{{Name: "hello", Pkg: "example.com/hello"}}, Stamp: "v1",
		Notes: []string{"building hello"}}
	dir := filepath.Join(t.TempDir(), "cache", "hello")
	if err := os.MkdirAll(dir, 0o755); err != nil { // an interrupted build's leftovers
		t.Fatal(err)
	}
	var log strings.Builder
	if err := b.Ensure(context.Background(), dir, &log); err != nil {
		t.Fatal(err)
	}
	if !IsComplete(dir) || !strings.Contains(log.String(), "hello: built hello") || !strings.Contains(log.String(), "hello: building hello") {
		t.Fatalf("after Ensure: complete=%v, log %q", IsComplete(dir), log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "hello")); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	if err := b.Ensure(context.Background(), dir, &log); err != nil || log.Len() != 0 {
		t.Fatalf("second Ensure() = %v, log %q; want a silent reuse", err, log.String())
	}
}
