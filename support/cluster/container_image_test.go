package cluster

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/moby/moby/client"

	"github.com/kubernaut/gateway-contract/support/image"
)

// TestControlPlaneImage checks the image the container provider runs, built from stand-in
// binaries: the files where cpinit expects them, executable, its entrypoint and labels, and a
// tag that follows the contents. With a Docker engine it also loads it under a test tag (never
// the provider's repository, so no real image is touched) and reads the labels back.
func TestControlPlaneImage(t *testing.T) {
	dir := t.TempDir()
	files := []image.File{{Path: "/cpinit", Source: filepath.Join(dir, "cpinit"), Mode: 0o755}}
	for _, b := range imageBinaries {
		files = append(files, image.File{Path: "/usr/local/bin/" + b, Source: filepath.Join(dir, b), Mode: 0o755})
	}
	for _, f := range files {
		if err := os.WriteFile(f.Source, []byte("stand-in for "+f.Path), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	img, err := controlPlaneImage(files)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/cpinit"}) || cfg.Config.Labels[LabelE2EComponent] != "controlplane" ||
		cfg.Config.Labels[LabelE2E] != "true" {
		t.Errorf("config %+v: want entrypoint /cpinit and the control-plane labels", cfg.Config)
	}
	var got []string
	rc := mutate.Extract(img)
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
		if h.Typeflag == tar.TypeReg {
			got = append(got, h.Name)
			if h.Mode != 0o755 {
				t.Errorf("%s: mode %o, want 755", h.Name, h.Mode)
			}
		}
	}
	want := []string{"cpinit", "usr/local/bin/etcd", "usr/local/bin/kube-apiserver", "usr/local/bin/kube-controller-manager"}
	if !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}

	tag1, err := contentHash(imageLayout, files)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files[1].Source, []byte("another etcd"), 0o700); err != nil {
		t.Fatal(err)
	}
	if tag2, err := contentHash(imageLayout, files); err != nil || tag2 == tag1 {
		t.Errorf("a changed binary kept the tag %s (%v)", tag1, err)
	}

	ctx := context.Background()
	docker, err := image.Engine(ctx)
	if errors.Is(err, image.ErrNoEngine) {
		t.Skipf("SKIPPED the load: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer docker.Close()
	const ref = "gateway-contract-cpimage-test:" + "load"
	if err := image.Load(ctx, docker, img, ref); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = docker.ImageRemove(context.Background(), ref, client.ImageRemoveOptions{PruneChildren: true})
	})
	in, err := docker.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if in.Config == nil || in.Config.Labels[LabelE2EComponent] != "controlplane" {
		t.Errorf("the engine's config %+v lacks the control-plane labels", in.Config)
	}
}
