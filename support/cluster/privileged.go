package cluster

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// dockerPrivilegeTimeout bounds the privilege probe: building an empty image and creating and
// starting one container take about a second on a healthy engine.
const dockerPrivilegeTimeout = 30 * time.Second

// probeImage is the privilege probe's image: FROM scratch with nothing in it, so it is built
// without a pull, and its command does not exist. Started privileged, a container of it fails
// either at exec (the engine granted the privileges: the runtime got as far as running the
// command) or before (the engine or the kernel refused them).
const (
	probeImage      = "gateway-contract-e2e/privilege-probe:1"
	probeCommand    = "/privilege-probe"
	probeDockerfile = "FROM scratch\nLABEL " + LabelE2E + `="true" ` + LabelE2EComponent + `="privilege-probe"` + "\nCMD [\"" + probeCommand + "\"]\n"
)

// errPrivilegedRefused is what Privileged returns when the engine does not start a privileged
// container; it wraps the engine's reason.
var errPrivilegedRefused = errors.New("privileged containers refused")

// Privileged starts a privileged container of an empty image built here and reports whether
// the engine ran it: k3s and kind need privileged containers, and an engine that refuses them
// would otherwise let the k3s module wait out its whole start bound.
func (e *mobyEngine) Privileged(ctx context.Context) error {
	if err := e.buildProbeImage(ctx); err != nil {
		return err
	}
	created, err := e.c.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: probeImage, Labels: map[string]string{
			LabelE2E: "true", LabelE2EComponent: "privilege-probe"}},
		HostConfig: &container.HostConfig{Privileged: true},
	})
	if err != nil {
		return fmt.Errorf("%w: create: %w", errPrivilegedRefused, err)
	}
	defer func() {
		_, _ = e.c.ContainerRemove(context.WithoutCancel(ctx), created.ID, client.ContainerRemoveOptions{Force: true})
	}()
	_, err = e.c.ContainerStart(ctx, created.ID, client.ContainerStartOptions{})
	return privilegeVerdict(err)
}

// privilegeVerdict reads the start of the probe container: no error, or the missing command,
// means the privileges were granted; anything else is the refusal, with the engine's reason.
func privilegeVerdict(startErr error) error {
	if startErr == nil || strings.Contains(startErr.Error(), probeCommand) {
		return nil
	}
	return fmt.Errorf("%w: %w", errPrivilegedRefused, startErr)
}

func (e *mobyEngine) buildProbeImage(ctx context.Context) error {
	if ok, err := e.HasImage(ctx, probeImage); err == nil && ok {
		return nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(probeDockerfile))}); err != nil {
		return fmt.Errorf("privilege probe image: %w", err)
	}
	if _, err := tw.Write([]byte(probeDockerfile)); err != nil {
		return fmt.Errorf("privilege probe image: %w", err)
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("privilege probe image: %w", err)
	}
	res, err := e.c.ImageBuild(ctx, &buf, client.ImageBuildOptions{Tags: []string{probeImage}, Remove: true, ForceRemove: true})
	if err != nil {
		return fmt.Errorf("privilege probe image: build: %w", err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("privilege probe image: build: %w", err)
	}
	if bytes.Contains(out, []byte(`"error"`)) {
		return fmt.Errorf("privilege probe image: build: %s", oneLine(string(out)))
	}
	return nil
}
