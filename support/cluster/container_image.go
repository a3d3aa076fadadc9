package cluster

import (
	"bytes"
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

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/kubernaut/gateway-contract/support/repo"
)

// imageBinaries are copied from the control plane's build directory into the image.
var imageBinaries = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// containerDockerfile builds the image from nothing but static binaries: no base image, so no
// pull. The labels are inherited by every container of the image.
const containerDockerfile = `FROM scratch
COPY etcd kube-apiserver kube-controller-manager /usr/local/bin/
COPY cpinit /cpinit
LABEL ` + LabelE2E + `="true" ` + LabelE2EComponent + `="controlplane"
EXPOSE 6443
ENTRYPOINT ["/cpinit"]
`

// ensureImage returns the control-plane image for the binaries in binDir, building it (through
// testcontainers, from a context of hard links) when the engine lacks it. built says whether it
// did. The tag is a hash of everything the image holds, so a new build of any binary or of the
// launcher makes a new image, and an unchanged one is reused by every run.
func ensureImage(ctx context.Context, docker *client.Client, binDir string, log io.Writer) (ref string, built bool, err error) {
	work, err := os.MkdirTemp(filepath.Dir(binDir), ".image-")
	if err != nil {
		return "", false, fmt.Errorf("image build directory: %w", err)
	}
	defer os.RemoveAll(work)

	if err := buildLauncher(ctx, filepath.Join(work, "cpinit")); err != nil {
		return "", false, err
	}
	for _, b := range imageBinaries {
		if err := linkOrCopy(filepath.Join(binDir, b), filepath.Join(work, b)); err != nil {
			return "", false, fmt.Errorf("image build context: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(work, "Dockerfile"), []byte(containerDockerfile), 0o644); err != nil {
		return "", false, fmt.Errorf("image build context: %w", err)
	}
	tag, err := contentHash(work, append([]string{"Dockerfile", "cpinit"}, imageBinaries...))
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
	prov, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.NewNoopLogger()))
	if err != nil {
		return "", false, fmt.Errorf("docker provider: %w", err)
	}
	defer prov.Close()
	var buildLog bytes.Buffer
	req := &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context:        work,
		Repo:           ContainerImageRepo,
		Tag:            tag,
		KeepImage:      true,
		BuildLogWriter: &buildLog,
	}}
	if _, err := prov.BuildImage(ctx, req); err != nil {
		return "", false, fmt.Errorf("build image %s: %w\n%s", ref, err, buildLog.String())
	}
	for _, old := range pruneImages(ctx, docker, ref) {
		fmt.Fprintf(log, "%s: removed the superseded image %s\n", containerWho, old)
	}
	return ref, true, nil
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

// linkOrCopy hard-links src to dst (the build directory is next to the binaries, so this is
// the usual case), copying when the file system refuses.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// contentHash is the first 16 hex digits of a SHA-256 over the names and contents of files.
func contentHash(dir string, files []string) (string, error) {
	h := sha256.New()
	for _, f := range files {
		fh, err := os.Open(filepath.Join(dir, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00", f)
		_, err = io.Copy(h, fh)
		fh.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}
