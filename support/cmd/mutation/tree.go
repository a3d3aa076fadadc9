package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// gatewayPackage is what the measurement builds.
const gatewayPackage = "./gateway/cmd/gateway"

// tree is a throwaway copy of what building the gateway needs (go.mod, go.sum and gateway/),
// taken once from the checkout so that edits made to the checkout while the measurement runs
// cannot leak into it. Mutants are applied to it one at a time and undone after their build.
type tree struct {
	dir string
}

// copyTree copies go.mod, go.sum and gateway/ of root into dir.
func copyTree(root, dir string) (*tree, error) {
	for _, f := range []string{"go.mod", "go.sum"} {
		if err := copyFile(filepath.Join(root, f), filepath.Join(dir, f)); err != nil {
			return nil, err
		}
	}
	src := filepath.Join(root, "gateway")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, filepath.Join(dir, rel))
	})
	if err != nil {
		return nil, fmt.Errorf("copying the gateway's sources: %w", err)
	}
	return &tree{dir: dir}, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (t *tree) read(file string) ([]byte, error) {
	return os.ReadFile(filepath.Join(t.dir, file))
}

// build compiles the gateway of the tree into out. -trimpath and -buildvcs=false make the binary
// depend on the sources only, not on where the tree is, so that Go's build cache is shared with
// every other build and an unchanged package is never compiled again; -s -w (no symbol table, no
// DWARF) takes a third off the link, which is most of a mutant's build. extra adds flags (-cover).
func (t *tree) build(ctx context.Context, out string, extra ...string) error {
	args := append([]string{"build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out}, extra...)
	cmd := exec.CommandContext(ctx, "go", append(args, gatewayPackage)...)
	cmd.Dir = t.dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	var msg bytes.Buffer
	cmd.Stdout, cmd.Stderr = &msg, &msg
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", gatewayPackage, err, strings.TrimSpace(msg.String()))
	}
	return nil
}

// withMutant writes the mutated files into the tree, runs fn, and puts the originals back.
func (t *tree) withMutant(files map[string][]byte, fn func() error) error {
	orig := map[string][]byte{}
	for f := range files {
		data, err := t.read(f)
		if err != nil {
			return err
		}
		orig[f] = data
	}
	restore := func() error {
		for f, data := range orig {
			if err := os.WriteFile(filepath.Join(t.dir, f), data, 0o644); err != nil {
				return fmt.Errorf("restoring %s after a mutant: %w", f, err)
			}
		}
		return nil
	}
	for f, data := range files {
		if err := os.WriteFile(filepath.Join(t.dir, f), data, 0o644); err != nil {
			_ = restore()
			return err
		}
	}
	err := fn()
	if rerr := restore(); rerr != nil {
		return rerr
	}
	return err
}

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
