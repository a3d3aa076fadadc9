package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// RemoveLeftoverContainers removes the suite's containers and networks (LabelE2E) from the
// Docker engine of DOCKER_HOST. With a runID it removes that run's, whatever their state; without
// one, those whose owning process (LabelE2EOwner) no longer runs on this machine: a run that
// crashed or was killed before its Stop. A live run's container is never touched without its
// run id. It returns the names it removed. The container provider calls it on every Start, so
// leftovers do not pile up even without `make clean-cluster`.
func RemoveLeftoverContainers(ctx context.Context, runID string) ([]string, error) {
	docker, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	defer docker.Close()
	return removeLeftovers(ctx, docker, runID)
}

// RemoveControlPlaneImages removes the control-plane images the container provider built
// (LabelE2EComponent=controlplane). The next E2E_CLUSTER=container run builds its image again.
func RemoveControlPlaneImages(ctx context.Context) ([]string, error) {
	docker, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	defer docker.Close()
	list, err := docker.ImageList(ctx, client.ImageListOptions{
		Filters: make(client.Filters).Add("label", LabelE2E+"=true", LabelE2EComponent+"=controlplane"),
	})
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var removed []string
	var errs []error
	for _, img := range list.Items {
		name := shortID(strings.TrimPrefix(img.ID, "sha256:"))
		if len(img.RepoTags) > 0 {
			name = img.RepoTags[0]
		}
		if _, err := docker.ImageRemove(ctx, img.ID, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove image %s: %w", name, err))
			continue
		}
		removed = append(removed, "image/"+name)
	}
	return removed, errors.Join(errs...)
}

func removeLeftovers(ctx context.Context, docker *client.Client, runID string) ([]string, error) {
	filters := make(client.Filters).Add("label", LabelE2E+"=true")
	if runID != "" {
		filters.Add("label", LabelE2ERun+"="+runID)
	}
	host, _ := os.Hostname()
	take := func(labels map[string]string) bool {
		if labels[LabelE2E] != "true" {
			return false // the filter already says so; this guards an engine that ignores it
		}
		if runID != "" {
			return labels[LabelE2ERun] == runID
		}
		return labels[LabelE2ERun] != "" && !ownerAlive(labels[LabelE2EOwner], host)
	}

	var removed []string
	var errs []error
	ctrs, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, ctr := range ctrs.Items {
		if !take(ctr.Labels) {
			continue
		}
		name := shortID(ctr.ID)
		if len(ctr.Names) > 0 {
			name = strings.TrimPrefix(ctr.Names[0], "/")
		}
		_, _ = docker.ContainerUnpause(ctx, ctr.ID, client.ContainerUnpauseOptions{})
		if _, err := docker.ContainerRemove(ctx, ctr.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove container %s: %w", name, err))
			continue
		}
		removed = append(removed, "container/"+name)
	}

	nets, err := docker.NetworkList(ctx, client.NetworkListOptions{Filters: filters})
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("list networks: %w", err))...)
	}
	for _, n := range nets.Items {
		if !take(n.Labels) {
			continue
		}
		if _, err := docker.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		removed = append(removed, "network/"+n.Name)
	}
	return removed, errors.Join(errs...)
}

// ownerAlive reports whether owner ("<hostname>/<pid>") is a running process of this machine.
// An owner of another machine, or one that cannot be read, counts as alive: not ours to judge.
func ownerAlive(owner, host string) bool {
	h, p, ok := strings.Cut(owner, "/")
	if !ok || h != host {
		return true
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return true
	}
	err = syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// DockerAvailable reports, as an error, why the Docker engine of DOCKER_HOST does not answer;
// nil when it does. Like RemoveLeftoverContainers it leaves DOCKER_HOST to the Docker client
// library, as the docker CLI does: these are a cleanup command's, not a provider's.
func DockerAvailable(ctx context.Context) error {
	docker, err := client.New(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer docker.Close()
	ctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	defer cancel()
	if _, err := docker.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("no Docker engine at %s: %w", docker.DaemonHost(), err)
	}
	return nil
}
