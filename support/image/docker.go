package image

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/moby/client"
)

// ErrNoEngine is matched (errors.Is) by Engine's error when no Docker engine answers, so that a
// test can skip saying so and a command can say what to start.
var ErrNoEngine = errors.New("no Docker engine")

// pingTimeout bounds Engine's check: a healthy engine answers in milliseconds.
const pingTimeout = 5 * time.Second

// Engine opens the Docker engine the docker CLI would use (DOCKER_HOST, else the default socket;
// TLS from DOCKER_CERT_PATH and DOCKER_TLS_VERIFY) and checks that it answers. Close the client.
func Engine(ctx context.Context) (*client.Client, error) {
	c, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: docker client: %w", ErrNoEngine, err)
	}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := c.Ping(pctx, client.PingOptions{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w at %s: start dockerd or set DOCKER_HOST (%w)", ErrNoEngine, c.DaemonHost(), err)
	}
	return c, nil
}

// Load puts img into the Docker engine under every tag (at least one), the way `docker load`
// would, and checks that the engine has it: the load API reports some failures only inside its
// response stream. An image the engine already has is only tagged.
func Load(ctx context.Context, docker *client.Client, img v1.Image, tags ...string) error {
	if len(tags) == 0 {
		return errors.New("image load: no tag given")
	}
	refs, err := parseTags(tags)
	if err != nil {
		return err
	}
	opts := []daemon.Option{daemon.WithClient(docker), daemon.WithContext(ctx)}
	resp, err := daemon.Write(refs[0], img, opts...)
	if err != nil {
		return fmt.Errorf("image load %s: %w", tags[0], err)
	}
	if _, err := docker.ImageInspect(ctx, tags[0]); err != nil {
		return fmt.Errorf("image load %s: the engine does not have it after loading: %w (engine said: %s)", tags[0], err, resp)
	}
	for _, r := range refs[1:] {
		if err := daemon.Tag(refs[0], r, opts...); err != nil {
			return fmt.Errorf("image tag %s as %s: %w", tags[0], r, err)
		}
	}
	return nil
}

// WriteArchive writes img under every tag as a docker-save tarball (manifest.json, the config
// and the layers): what `docker load -i` and `kind load image-archive` read.
func WriteArchive(path string, img v1.Image, tags ...string) error {
	if len(tags) == 0 {
		return errors.New("image archive: no tag given")
	}
	refs, err := parseTags(tags)
	if err != nil {
		return err
	}
	m := make(map[name.Reference]v1.Image, len(refs))
	for _, r := range refs {
		m[r] = img
	}
	if err := tarball.MultiRefWriteToFile(path, m); err != nil {
		return fmt.Errorf("image archive %s: %w", path, err)
	}
	return nil
}

func parseTags(tags []string) ([]name.Tag, error) {
	refs := make([]name.Tag, len(tags))
	for i, t := range tags {
		// A tag left out would silently become "latest"; the names here are always explicit.
		if i := strings.LastIndex(t, ":"); i < 0 || strings.Contains(t[i:], "/") {
			return nil, fmt.Errorf("image tag %q: no tag after the repository", t)
		}
		r, err := name.NewTag(t)
		if err != nil {
			return nil, fmt.Errorf("image tag %q: %w", t, err)
		}
		refs[i] = r
	}
	return refs, nil
}
