package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"

	"github.com/kubernaut/gateway-contract/support/image"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// imageBinaries are copied from the control plane's build directory into the image.
var imageBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// imageLayout is the control-plane image besides its files: no base image, so no pull. The labels
// are inherited by every container of the image. It is part of the tag's hash, so a change here
// makes a new image.
const imageLayout = "v2: /usr/local/bin/{etcd,kube-apiserver,kube-controller-manager} /cpinit; entrypoint /cpinit; expose 6443; labels " +
	LabelE2E + "=true " + LabelE2EComponent + "=controlplane"

// ensureImage returns the control-plane image for the binaries in binDir, building it with
// support/image (one layer of the static binaries on an empty base, as for the gateway's image)
// and loading it when the engine lacks it. built says whether it did. The tag is a hash of
// everything the image holds, so a new build of any binary or of the launcher makes a new image,
// and an unchanged one is reused by every run.
func ensureImage(ctx context.Context, docker *client.Client, binDir string, log io.Writer) (ref string, built bool, err error) {
	work, err := os.MkdirTemp(filepath.Dir(binDir), ".image-")
	if err != nil {
		return "", false, fmt.Errorf("image build directory: %w", err)
	}
	defer os.RemoveAll(work)

	launcher := filepath.Join(work, "cpinit")
	if err := buildLauncher(ctx, launcher); err != nil {
		return "", false, err
	}
	files := []image.File{{Path: "/cpinit", Source: launcher, Mode: 0o755}}
	for _, b := range imageBinaries {
		files = append(files, image.File{Path: "/usr/local/bin/" + b, Source: filepath.Join(binDir, b), Mode: 0o755})
	}
	tag, err := contentHash(imageLayout, files)
	if err != nil {
		return "", false, fmt.Errorf("hashing the image content: %w", err)
	}
	ref = ContainerImageRepo + ":" + tag

	if _, err := docker.ImageInspect(ctx, ref); err == nil {
		return ref, false, nil
	} else if !isNotFound(err) {
		return "", false, fmt.Errorf("inspect image %s: %w", ref, err)
	}

	fmt.Fprintf(log, "%s: building image %s from %s (once per build of the control plane)\n", containerWho, ref, binDir)
	img, err := controlPlaneImage(files)
	if err != nil {
		return "", false, fmt.Errorf("build image %s: %w", ref, err)
	}
	if err := image.Load(ctx, docker, img, ref); err != nil {
		return "", false, err
	}
	for _, old := range pruneImages(ctx, docker, ref) {
		fmt.Fprintf(log, "%s: removed the superseded image %s\n", containerWho, old)
	}
	return ref, true, nil
}

// controlPlaneImage is the image of files (the launcher and the binaries, see ensureImage).
func controlPlaneImage(files []image.File) (v1.Image, error) {
	return image.FromFiles(image.Spec{
		Files:        files,
		Architecture: runtime.GOARCH,
		CreatedBy:    "support/cluster: the control plane's binaries and support/cmd/cpinit",
		Config: v1.Config{
			Entrypoint:   []string{"/cpinit"},
			ExposedPorts: map[string]struct{}{"6443/tcp": {}},
			Labels:       map[string]string{LabelE2E: "true", LabelE2EComponent: "controlplane"},
		},
	})
}

// pruneImages removes the other control-plane images, which a new build of the binaries or the
// launcher superseded, so that they do not pile up (about 230 MB each). An image that a container
// still uses stays (the removal is not forced); errors only leave an image behind, for
// `cleanup --images`.
func pruneImages(ctx context.Context, docker *client.Client, keep string) []string {
	list, err := docker.ImageList(ctx, client.ImageListOptions{
		Filters: make(client.Filters).Add("label", LabelE2E+"=true", LabelE2EComponent+"=controlplane"),
	})
	if err != nil {
		return nil
	}
	var removed []string
	for _, img := range list.Items {
		if slices.Contains(img.RepoTags, keep) {
			continue
		}
		for _, tag := range img.RepoTags {
			if _, err := docker.ImageRemove(ctx, tag, client.ImageRemoveOptions{PruneChildren: true}); err == nil {
				removed = append(removed, tag)
			}
		}
	}
	return removed
}

// buildLauncher compiles support/cmd/cpinit, static, for the engine's machine (this one).
func buildLauncher(ctx context.Context, out string) error {
	root, err := repo.Path()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./support/cmd/cpinit")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the launcher support/cmd/cpinit: %w\n%s", err, b)
	}
	return nil
}

// contentHash is the first 16 hex digits of a SHA-256 over layout and the image paths and
// contents of files.
func contentHash(layout string, files []image.File) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", layout)
	for _, f := range files {
		fh, err := os.Open(f.Source)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", f.Path)
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
