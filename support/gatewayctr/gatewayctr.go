// Package gatewayctr runs the gateway's container the way a kubelet runs one container of a Pod:
// from the shipped image, with the Pod template's command, args, environment and user, a
// read-only root filesystem, no capabilities and no new privileges, and a projected
// ServiceAccount token, CA and namespace mounted where client-go's in-cluster configuration
// reads them. It shares the host's network, so the gateway reaches the scenario's fault proxy on
// loopback as KUBERNETES_SERVICE_HOST, and the suite reaches the gateway there too.
//
// A Runner is a gatewayproc.Runner: gatewayproc.StartWith watches it through its log and its
// readiness endpoint exactly as it watches a host process.
package gatewayctr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"
)

// ServiceAccountDir is where a kubelet mounts a Pod's ServiceAccount token, CA and namespace.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Spec is the one container to run.
type Spec struct {
	// Name is the container's name (unique on the engine), for `docker ps` and leftovers.
	Name  string
	Image string
	// Command replaces the image's entrypoint when set, as a Pod's command does.
	Command []string
	Args    []string
	// Env is KEY=VALUE, the template's env and the API server's address.
	Env []string
	// User is "uid:gid", from the template's security context.
	User string
	// Credentials is a host directory holding token, ca.crt and namespace, mounted read-only at
	// ServiceAccountDir (see WriteCredentials).
	Credentials string
	// Mounts are further host directories mounted read-only, as a kubelet projects a Secret
	// volume: the serving certificate's directory at the template's mountPath.
	Mounts []Mount
	Labels map[string]string
}

// Mount is a host directory (Source) mounted read-only at Target in the container.
type Mount struct {
	Source, Target string
}

// Runner runs one container of Spec; it is used once (a restart is a new Runner).
type Runner struct {
	docker *client.Client
	spec   Spec
	id     string
	pid    int
}

// New returns a Runner of spec on the engine docker.
func New(docker *client.Client, spec Spec) *Runner { return &Runner{docker: docker, spec: spec} }

// Run creates and starts the container and returns its log: stderr, where the gateway logs,
// followed until the container exits.
func (r *Runner) Run(ctx context.Context) (io.ReadCloser, error) {
	cfg := &container.Config{
		Image:  r.spec.Image,
		Cmd:    r.spec.Args,
		Env:    r.spec.Env,
		User:   r.spec.User,
		Labels: r.spec.Labels,
	}
	if len(r.spec.Command) > 0 {
		cfg.Entrypoint = r.spec.Command
	}
	binds := []string{r.spec.Credentials + ":" + ServiceAccountDir + ":ro"}
	for _, m := range r.spec.Mounts {
		binds = append(binds, m.Source+":"+m.Target+":ro")
	}
	host := &container.HostConfig{
		NetworkMode:    "host",
		ReadonlyRootfs: true,
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		Binds:          binds,
	}
	created, err := r.docker.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host, Name: r.spec.Name})
	if err != nil {
		return nil, fmt.Errorf("creating the gateway container from %s: %w", r.spec.Image, err)
	}
	r.id = created.ID
	if _, err := r.docker.ContainerStart(ctx, r.id, client.ContainerStartOptions{}); err != nil {
		r.remove()
		return nil, fmt.Errorf("starting the gateway container %s: %w", r, err)
	}
	if info, err := r.docker.ContainerInspect(ctx, r.id, client.ContainerInspectOptions{}); err == nil && info.Container.State != nil {
		r.pid = info.Container.State.Pid
	}
	// The log stream outlives the start's context: it ends when the container does.
	logs, err := r.docker.ContainerLogs(context.WithoutCancel(ctx), r.id, client.ContainerLogsOptions{ShowStderr: true, ShowStdout: true, Follow: true})
	if err != nil {
		_ = r.Signal(syscall.SIGKILL)
		r.remove()
		return nil, fmt.Errorf("following the log of the gateway container %s: %w", r, err)
	}
	pr, pw := io.Pipe()
	go func() {
		_, err := stdcopy.StdCopy(io.Discard, pw, logs)
		logs.Close()
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// Signal sends sig to the container's first process, as the container runtime does: SIGTERM
// at the start of a Pod's termination, SIGKILL when its grace period is over.
func (r *Runner) Signal(sig syscall.Signal) error {
	if r.id == "" {
		return errors.New("the gateway container was not created")
	}
	if _, err := r.docker.ContainerKill(context.Background(), r.id, client.ContainerKillOptions{Signal: unix.SignalName(sig)}); err != nil {
		if strings.Contains(err.Error(), "is not running") {
			return os.ErrProcessDone
		}
		return err
	}
	return nil
}

// Wait blocks until the container has exited, removes it, and returns an error for a non-zero
// exit code.
func (r *Runner) Wait() error {
	defer r.remove()
	res := r.docker.ContainerWait(context.Background(), r.id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case err := <-res.Error:
		return fmt.Errorf("waiting for the gateway container %s: %w", r, err)
	case w := <-res.Result:
		if w.Error != nil && w.Error.Message != "" {
			return fmt.Errorf("the gateway container %s: %s", r, w.Error.Message)
		}
		if w.StatusCode != 0 {
			return &ExitError{Container: r.String(), Code: int(w.StatusCode)}
		}
		return nil
	}
}

// ExitError is a container's non-zero exit.
type ExitError struct {
	Container string
	Code      int
}

func (e *ExitError) Error() string {
	if sig, ok := e.Signaled(); ok {
		return fmt.Sprintf("the gateway %s was ended by %s (exit code %d)", e.Container, unix.SignalName(sig), e.Code)
	}
	return fmt.Sprintf("the gateway %s exited with code %d", e.Container, e.Code)
}

// Signaled says whether a signal ended the container: container runtimes report that as exit
// code 128 plus the signal's number (137 for SIGKILL).
func (e *ExitError) Signaled() (syscall.Signal, bool) {
	if e.Code > 128 && e.Code < 128+65 {
		return syscall.Signal(e.Code - 128), true
	}
	return 0, false
}

func (r *Runner) remove() {
	_, _ = r.docker.ContainerRemove(context.Background(), r.id, client.ContainerRemoveOptions{Force: true})
}

// String names the container by its short id.
func (r *Runner) String() string {
	if len(r.id) > 12 {
		return "container " + r.id[:12]
	}
	return "container " + r.id
}

// Pid is the host's pid of the container's first process.
func (r *Runner) Pid() int { return r.pid }

// WriteCredentials writes what a kubelet projects into a Pod's ServiceAccount volume, token,
// ca.crt and namespace, into dir, readable by the container's non-root user.
func WriteCredentials(dir, token string, ca []byte, namespace string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("the ServiceAccount volume %s: %w", dir, err)
	}
	// MkdirAll keeps an existing directory's mode, and the umask trims a new one's.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("the ServiceAccount volume %s: %w", dir, err)
	}
	for name, data := range map[string][]byte{"token": []byte(token), "ca.crt": ca, "namespace": []byte(namespace)} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("the ServiceAccount volume: %w", err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			return fmt.Errorf("the ServiceAccount volume: %w", err)
		}
	}
	return nil
}
