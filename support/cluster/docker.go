package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Bounds of the Docker prerequisite checks: a healthy engine answers in milliseconds, and a
// check that hangs would turn a missing prerequisite into a timed-out test run.
const (
	dockerPingTimeout    = 5 * time.Second
	dockerInspectTimeout = 10 * time.Second
)

// dockerEngine is the little the providers ask of Docker before starting anything. It is an
// interface so that the prerequisite errors can be tested without a Docker engine.
type dockerEngine interface {
	// Host is where the engine is expected, for error messages.
	Host() string
	Ping(ctx context.Context) error
	// HasImage reports whether ref is present locally; it never pulls.
	HasImage(ctx context.Context, ref string) (bool, error)
	// Privileged returns nil when the engine runs privileged containers, an error wrapping
	// errPrivilegedRefused when it refuses them, and any other error when it cannot tell.
	Privileged(ctx context.Context) error
	Close() error
}

// dockerDialer opens a dockerEngine at host (a DOCKER_HOST value).
type dockerDialer func(host string) (dockerEngine, error)

// mobyEngine is the real dockerEngine, the same client library testcontainers uses.
type mobyEngine struct {
	host string
	c    *client.Client
}

// dialDocker is the real dockerDialer. TLS settings (DOCKER_CERT_PATH, DOCKER_TLS_VERIFY) come
// from the process environment, as for the docker CLI.
func dialDocker(host string) (dockerEngine, error) {
	c, err := client.New(client.FromEnv, client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client for %s: %w", host, err)
	}
	return &mobyEngine{host: host, c: c}, nil
}

func (e *mobyEngine) Host() string { return e.host }

func (e *mobyEngine) Ping(ctx context.Context) error {
	_, err := e.c.Ping(ctx, client.PingOptions{})
	return err
}

func (e *mobyEngine) HasImage(ctx context.Context, ref string) (bool, error) {
	_, err := e.c.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case cerrdefs.IsNotFound(err):
		return false, nil
	default:
		return false, err
	}
}

func (e *mobyEngine) Close() error { return e.c.Close() }

// checkDocker fails in one line when the engine at host does not answer or lacks image, because
// testcontainers and kind would otherwise try to pull it, which here hangs until a timeout.
// who prefixes the messages ("k3s cluster"); imageVar names the variable that overrides image.
func checkDocker(ctx context.Context, dial dockerDialer, host, who, image, imageVar string) error {
	eng, err := dial(host)
	if err != nil {
		return missing(err, "%s: no Docker engine at %s: start dockerd or set DOCKER_HOST", who, host)
	}
	defer eng.Close()

	pctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	defer cancel()
	if err := eng.Ping(pctx); err != nil {
		return missing(err, "%s: no Docker engine at %s: start dockerd or set DOCKER_HOST", who, eng.Host())
	}

	// k3s and kind run their nodes in privileged containers; an engine that refuses them would
	// let the k3s module wait out its whole start bound before saying anything.
	prctx, cancel := context.WithTimeout(ctx, dockerPrivilegeTimeout)
	defer cancel()
	if err := eng.Privileged(prctx); err != nil {
		if errors.Is(err, errPrivilegedRefused) {
			return missing(err, "%s: the Docker engine at %s refuses privileged containers, which %s runs in: "+
				"use a host or CI runner that allows them (GitHub's hosted runners do), or set E2E_CLUSTER=local",
				who, eng.Host(), strings.TrimSuffix(who, " cluster"))
		}
		return fmt.Errorf("%s: probe privileged containers in the Docker engine at %s: %w", who, eng.Host(), err)
	}

	ictx, cancel := context.WithTimeout(ctx, dockerInspectTimeout)
	defer cancel()
	ok, err := eng.HasImage(ictx, image)
	if err != nil {
		return fmt.Errorf("%s: inspect image %s in the Docker engine at %s: %w", who, image, eng.Host(), err)
	}
	if !ok {
		return missing(nil, "%s: image %s is not in the local Docker engine and cannot be pulled here: "+
			"load it with 'docker load -i <file>' or set %s to a local image", who, image, imageVar)
	}
	return nil
}
