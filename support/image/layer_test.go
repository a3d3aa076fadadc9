package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestTarFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	b := filepath.Join(dir, "b")
	if err := os.WriteFile(a, []byte("alpha"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("beta"), 0o777); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		files   []File
		want    []string // name, in tar order
		wantErr bool
	}{
		{"one file at the root", []File{{Path: "/gateway", Source: a}}, []string{"gateway"}, false},
		{"parents first, sorted", []File{{Path: "/usr/local/bin/x", Source: b}, {Path: "/cpinit", Source: a}},
			[]string{"cpinit", "usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/x"}, false},
		{"a path given twice", []File{{Path: "/x", Source: a}, {Path: "x", Source: b}}, nil, true},
		{"the root is no file", []File{{Path: "/", Source: a}}, nil, true},
		{"a missing source", []File{{Path: "/x", Source: filepath.Join(dir, "missing")}}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := tarFiles(tc.files, mtime)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			tr := tar.NewReader(bytes.NewReader(data))
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, h.Name)
				if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
					t.Errorf("%s: owner %d:%d (%q:%q), want 0:0 without names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
				}
				if !h.ModTime.Equal(mtime) {
					t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, mtime)
				}
				wantMode := int64(0o555)
				if h.Typeflag == tar.TypeDir {
					wantMode = 0o755
				}
				if h.Mode != wantMode {
					t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, wantMode)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("entries %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFromFilesIsReproducible: the same files and spec give the same digest whatever the
// sources' own mtimes and modes, and a different time gives another.
func TestFromFilesIsReproducible(t *testing.T) {
	src := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(src, []byte("#!binary"), 0o700); err != nil {
		t.Fatal(err)
	}
	spec := Spec{
		Files:        []File{{Path: "/bin", Source: src}},
		Created:      time.Unix(1_700_000_000, 0),
		Architecture: "amd64",
		Config:       v1.Config{Entrypoint: []string{"/bin"}, User: User},
	}
	first := digestOf(t, spec)
	if err := os.Chtimes(src, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if again := digestOf(t, spec); again != first {
		t.Errorf("second build %s, first %s: the digest depends on the source file's metadata", again, first)
	}
	spec.Created = spec.Created.Add(time.Second)
	if later := digestOf(t, spec); later == first {
		t.Errorf("another creation time gave the same digest %s", later)
	}
}

func digestOf(t *testing.T, spec Spec) v1.Hash {
	t.Helper()
	img, err := FromFiles(spec)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
