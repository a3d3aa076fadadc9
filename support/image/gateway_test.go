package image

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
)

// buildTwice builds the gateway image of this checkout twice; both builds share the test binary's
// run so the slower first compile is paid once for the tests below.
func buildTwice(t *testing.T) (*Gateway, *Gateway) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the gateway twice; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	first, err := Build(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Build(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return first, second
}

func TestGatewayImage(t *testing.T) {
	first, second := buildTwice(t)

	t.Run("reproducible", func(t *testing.T) {
		if first.Revision != second.Revision || first.Dirty != second.Dirty {
			t.Fatalf("the checkout changed between the builds (%s dirty=%v, then %s dirty=%v): run again on a quiet tree",
				first.Revision, first.Dirty, second.Revision, second.Dirty)
		}
		if first.Digest != second.Digest {
			t.Errorf("two builds of one checkout: digests %s and %s", first.Digest, second.Digest)
		}
	})

	t.Run("config", func(t *testing.T) {
		cfg, err := first.Image.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.OS != "linux" || cfg.Architecture == "" {
			t.Errorf("platform %s/%s, want linux/<arch>", cfg.OS, cfg.Architecture)
		}
		if cfg.Config.User != "65532:65532" {
			t.Errorf("User %q, want 65532:65532", cfg.Config.User)
		}
		if !slices.Equal(cfg.Config.Entrypoint, []string{"/gateway"}) {
			t.Errorf("Entrypoint %q, want [/gateway]", cfg.Config.Entrypoint)
		}
		if !cfg.Created.Time.Equal(first.Created) {
			t.Errorf("Created %v, want the commit time %v", cfg.Created.Time, first.Created)
		}
		labels := cfg.Config.Labels
		for k, want := range map[string]string{
			"org.opencontainers.image.source":   "https://github.com/kubernaut/gateway-contract",
			"org.opencontainers.image.revision": first.Revision,
			"org.opencontainers.image.version":  first.Version,
			"org.opencontainers.image.created":  first.Created.Format(time.RFC3339),
		} {
			if labels[k] != want {
				t.Errorf("label %s = %q, want %q", k, labels[k], want)
			}
		}
		if len(first.Revision) != 40 {
			t.Errorf("revision %q is not a full commit", first.Revision)
		}
		wantTag := "kubernaut-gateway:" + first.Revision[:12]
		if first.Dirty {
			wantTag += "-dirty"
		}
		if first.Tag != wantTag {
			t.Errorf("tag %q, want %q", first.Tag, wantTag)
		}
	})

	t.Run("one static binary, read-only, owned by root", func(t *testing.T) {
		var names []string
		var binary []byte
		rc := mutate.Extract(first.Image)
		defer rc.Close()
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, h.Name)
			if h.Name == "gateway" {
				if h.Mode != 0o555 || h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(first.Created) {
					t.Errorf("/gateway: mode %o owner %d:%d mtime %v; want 555 0:0 %v", h.Mode, h.Uid, h.Gid, h.ModTime, first.Created)
				}
				if binary, err = io.ReadAll(tr); err != nil {
					t.Fatal(err)
				}
			}
		}
		if !slices.Equal(names, []string{"gateway"}) {
			t.Fatalf("image files %q, want only gateway", names)
		}
		f, err := elf.NewFile(bytes.NewReader(binary))
		if err != nil {
			t.Fatalf("/gateway is not an ELF binary: %v", err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Error("/gateway asks for a dynamic loader: it must be static (CGO_ENABLED=0) to run on an empty base")
			}
		}
	})

	t.Run("archive", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "gateway.tar")
		if err := WriteArchive(path, first.Image, first.Tag, LatestTag); err != nil {
			t.Fatal(err)
		}
		back, err := tarball.ImageFromPath(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := back.Digest(); err != nil || d != first.Digest {
			t.Errorf("archive's image digest %s (%v), want %s", d, err, first.Digest)
		}
		manifest := readArchiveManifest(t, path)
		if len(manifest) != 1 || !slices.Equal(manifest[0].RepoTags, []string{first.Tag, LatestTag}) {
			t.Errorf("archive manifest.json %+v, want one image tagged %s and %s", manifest, first.Tag, LatestTag)
		}
	})
}

// readArchiveManifest reads the docker-save manifest.json of an archive: what `docker load` and
// `kind load image-archive` look at for the tags.
func readArchiveManifest(t *testing.T, path string) []struct {
	Config   string
	RepoTags []string
	Layers   []string
} {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("manifest.json not found in %s: %v", path, err)
		}
		if h.Name == "manifest.json" {
			var m []struct {
				Config   string
				RepoTags []string
				Layers   []string
			}
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
}

func TestLoadIntoDocker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	docker, err := Engine(ctx)
	if errors.Is(err, ErrNoEngine) {
		t.Skipf("SKIPPED: loading needs a Docker engine: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()

	src := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(src, []byte("not run"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := FromFiles(Spec{
		Files: []File{{Path: "/hello", Source: src}}, Created: time.Now().Truncate(time.Second),
		Architecture: "amd64", Config: v1.Config{Entrypoint: []string{"/hello"}, User: User},
	})
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{"kubernaut-gateway-loadtest:a", "kubernaut-gateway-loadtest:b"}
	if err := Load(ctx, docker, img, tags...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, tag := range tags {
			_, _ = docker.ImageRemove(context.Background(), tag, imageRemoveOptions())
		}
	})
	for _, tag := range tags {
		got, err := docker.ImageInspect(ctx, tag)
		if err != nil {
			t.Fatalf("the engine lacks %s after Load: %v", tag, err)
		}
		if got.Config == nil || got.Config.User != User {
			t.Errorf("%s: engine's config %+v, want User %s", tag, got.Config, User)
		}
	}
}

func imageRemoveOptions() client.ImageRemoveOptions {
	return client.ImageRemoveOptions{PruneChildren: true}
}
