// Package image builds OCI images from binaries built here, without a Dockerfile, a base image or
// a registry, the way ko does: one layer written as a tar with fixed owners, modes and times, on
// empty.Image, with the config set through mutate. The same inputs give the same digest, which is
// what lets a digest name a commit. It also loads images into the local Docker engine and writes
// them as docker-save archives (what `docker load` and `kind load image-archive` take).
package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one regular file of a layer: its contents come from Source on the build machine.
type File struct {
	// Path is where the file lands in the image, absolute ("/gateway").
	Path string
	// Source is the file on this machine whose bytes are copied.
	Source string
	// Mode is the permission bits in the image; 0 means 0o555 (read and execute for everyone,
	// writable by no one, as ko does), independent of the umask the source was built under.
	Mode int64
}

// Spec is what an image built by FromFiles holds besides its files.
type Spec struct {
	// Files are the contents of the single layer, owned by root (0:0), in any order: the tar is
	// written sorted by path, with each parent directory before its files.
	Files []File
	// Created is the time of the image, its history and every file's mtime. A fixed time (the
	// commit's, say) is what makes two builds byte-identical; the zero time is the Unix epoch.
	Created time.Time
	// Architecture is the GOARCH the binaries were built for; the OS is always linux.
	Architecture string
	// Config is the runtime config: Entrypoint, User, Labels, ExposedPorts and so on.
	Config v1.Config
	// CreatedBy is recorded in the layer's history, e.g. the build command.
	CreatedBy string
}

// FromFiles builds a one-layer image on an empty base from spec. The sources are read at once
// (they may go away afterwards); the layer is held in memory, compressed once at gzip's fastest
// level as ko does (the binaries here are tens to hundreds of MB).
func FromFiles(spec Spec) (v1.Image, error) {
	created := spec.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC()
	layerTar, err := tarFiles(spec.Files, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: created},
			CreatedBy: spec.CreatedBy,
			Comment:   "built from files, without a base image",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS = "linux"
	cfg.Architecture = spec.Architecture
	cfg.Config = spec.Config
	cfg.Created = v1.Time{Time: created}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}

// tarFiles writes files into an uncompressed tar: parent directories first (mode 0o755), then
// every entry sorted by name, all owned by 0:0 with mtime t and no user or group names, so the
// bytes depend only on the contents.
func tarFiles(files []File, t time.Time) ([]byte, error) {
	type entry struct {
		name string
		file *File
	}
	seen := map[string]bool{}
	var entries []entry
	for i := range files {
		f := &files[i]
		name := strings.TrimPrefix(path.Clean("/"+f.Path), "/")
		if name == "" {
			return nil, fmt.Errorf("image file %q: not a file path", f.Path)
		}
		if seen[name] {
			return nil, fmt.Errorf("image file %q: given twice", f.Path)
		}
		seen[name] = true
		entries = append(entries, entry{name: name, file: f})
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			if !seen[d+"/"] {
				seen[d+"/"] = true
				entries = append(entries, entry{name: d + "/"})
			}
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, ModTime: t, Uid: 0, Gid: 0}
		if e.file == nil {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, fmt.Errorf("image layer: %w", err)
			}
			continue
		}
		data, err := os.ReadFile(e.file.Source)
		if err != nil {
			return nil, fmt.Errorf("image file %s: %w", e.file.Path, err)
		}
		hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, e.file.Mode, int64(len(data))
		if hdr.Mode == 0 {
			hdr.Mode = 0o555
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("image layer: %w", err)
		}
		if _, err := tw.Write(data); err != nil {
			return nil, fmt.Errorf("image layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	return buf.Bytes(), nil
}
