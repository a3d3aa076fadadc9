package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRootFrom(t *testing.T) {
	top := t.TempDir()
	deep := filepath.Join(top, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(top, "go.mod"), []byte("module "+ModulePath+"\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, from, want, errPart string
	}{
		{name: "at root", from: top, want: top},
		{name: "below root", from: deep, want: top},
		{name: "foreign module", from: other, errPart: "no go.mod declaring"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rootFrom(tc.from)
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("rootFrom(%s) error = %v, want it to contain %q", tc.from, err, tc.errPart)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("rootFrom(%s) = %q, %v; want %q", tc.from, got, err, tc.want)
			}
		})
	}
}

func TestRootOfThisCheckout(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "support", "repo", "repo.go")); err != nil {
		t.Fatalf("Root() = %s, which does not hold this package: %v", root, err)
	}
}
