package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// freezeAttempts bounds the pauses asked for when the cgroup freezer gives up.
const freezeAttempts = 5

// Fault names, as FaultEvidence.Fault reports them.
const (
	FaultFreeze     = "freeze"
	FaultThaw       = "thaw"
	FaultRestart    = "restart"
	FaultDisconnect = "disconnect"
	FaultReconnect  = "reconnect"
)

// What ContainerState.API reports: the answer of GET /readyz at the published port, made with
// the administrator's credentials and a short timeout.
const (
	APIReady   = "ready"   // answered ok
	APIRefused = "refused" // the connection was refused or reset: nothing listens (disconnected, stopped)
	APITimeout = "timeout" // no answer in time (frozen)
	APIError   = "error"   // anything else; ContainerState.APIDetail says what
)

// ContainerState is what Docker, and a probe of the API, say about the control-plane container
// at one moment.
type ContainerState struct {
	Status    string    // Docker's status: running, paused, restarting, exited...
	Paused    bool      // the container's processes are frozen
	Pid       int       // host pid of the launcher; a restart changes it
	StartedAt time.Time // when the current run of the container began; a restart changes it
	Networks  []string  // the networks the container is attached to, sorted
	API       string    // APIReady, APIRefused, APITimeout or APIError
	APIDetail string    // the probe's error, when API is not APIReady
}

func (s ContainerState) String() string {
	api := s.API
	if s.APIDetail != "" {
		api += " (" + s.APIDetail + ")"
	}
	return fmt.Sprintf("status=%s pid=%d started=%s networks=[%s] api=%s",
		s.Status, s.Pid, s.StartedAt.Format(time.RFC3339Nano), strings.Join(s.Networks, " "), api)
}

// FaultEvidence is what a fault method observed: the container before and after the fault. A
// method returns it only when After shows that the fault took effect; otherwise it returns an
// error.
type FaultEvidence struct {
	Fault     string // one of the Fault* names
	Container string // the container's short id
	Before    ContainerState
	After     ContainerState
	Took      time.Duration // from the fault's start until After was taken
}

func (e FaultEvidence) String() string {
	return fmt.Sprintf("%s of container %s in %s: before {%s}, after {%s}",
		e.Fault, e.Container, e.Took.Round(time.Millisecond), e.Before, e.After)
}

// Freeze pauses every process of the control plane (docker pause). Connections to the API are
// still accepted by Docker's port proxy but never answered. Evidence: After.Paused, After.API is
// APITimeout.
func (c *ContainerCluster) Freeze(ctx context.Context) (FaultEvidence, error) {
	return c.fault(ctx, FaultFreeze, func(ctx context.Context) error {
		// The cgroup freezer gives up ("unable to freeze") when a process does not stop in time,
		// which a loaded machine sees now and then; the pause is asked for again, a bounded
		// number of times, until it takes.
		var err error
		for attempt := 0; attempt < freezeAttempts; attempt++ {
			if _, err = c.docker.ContainerPause(ctx, c.id, client.ContainerPauseOptions{}); err == nil || !strings.Contains(err.Error(), "unable to freeze") {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (after %v)", ctx.Err(), err)
			case <-time.After(200 * time.Millisecond):
			}
		}
		return fmt.Errorf("after %d attempts: %w", freezeAttempts, err)
	}, func(before, after ContainerState) error {
		if !after.Paused {
			return fmt.Errorf("container is not paused (status %s)", after.Status)
		}
		return nil
	}, false)
}

// Thaw resumes a frozen control plane (docker unpause) and returns once the API is ready again.
// Evidence: Before.Paused, After not paused, After.API is APIReady.
func (c *ContainerCluster) Thaw(ctx context.Context) (FaultEvidence, error) {
	return c.fault(ctx, FaultThaw, func(ctx context.Context) error {
		_, err := c.docker.ContainerUnpause(ctx, c.id, client.ContainerUnpauseOptions{})
		return err
	}, func(before, after ContainerState) error {
		if after.Paused || after.Status != "running" {
			return fmt.Errorf("container is %s after unpause", after.Status)
		}
		return nil
	}, true)
}

// Restart stops the control plane (SIGTERM, then SIGKILL after a grace period) and starts it
// again (docker restart), and returns once the API is ready. It refuses a disconnected container. etcd's data, the CA, the keys and
// the host port survive, so the REST config, the namespaces and service-account tokens stay
// valid. Evidence: After.StartedAt later than Before.StartedAt, a new Pid, After.API APIReady.
func (c *ContainerCluster) Restart(ctx context.Context) (FaultEvidence, error) {
	return c.fault(ctx, FaultRestart, func(ctx context.Context) error {
		grace := containerStopGrace
		_, err := c.docker.ContainerRestart(ctx, c.id, client.ContainerRestartOptions{Timeout: &grace})
		return err
	}, func(before, after ContainerState) error {
		if !after.StartedAt.After(before.StartedAt) || after.Pid == before.Pid {
			return fmt.Errorf("container did not restart: started %s (was %s), pid %d (was %d)",
				after.StartedAt.Format(time.RFC3339Nano), before.StartedAt.Format(time.RFC3339Nano), after.Pid, before.Pid)
		}
		return nil
	}, true)
}

// Disconnect detaches the container from its network (docker network disconnect). That also
// takes down the published port: connections to the API are refused until Reconnect. Evidence:
// the network is in Before.Networks but not in After.Networks, After.API is APIRefused.
func (c *ContainerCluster) Disconnect(ctx context.Context) (FaultEvidence, error) {
	return c.fault(ctx, FaultDisconnect, func(ctx context.Context) error {
		_, err := c.docker.NetworkDisconnect(ctx, c.network.ID, client.NetworkDisconnectOptions{Container: c.id, Force: true})
		return err
	}, func(before, after ContainerState) error {
		if slices.Contains(after.Networks, c.network.Name) {
			return fmt.Errorf("container is still attached to network %s", c.network.Name)
		}
		return nil
	}, false)
}

// Reconnect attaches the container to its network again; Docker publishes the API on the same
// port, and Reconnect returns once it is ready. Evidence: the network is in After.Networks,
// After.API is APIReady.
func (c *ContainerCluster) Reconnect(ctx context.Context) (FaultEvidence, error) {
	return c.fault(ctx, FaultReconnect, func(ctx context.Context) error {
		_, err := c.docker.NetworkConnect(ctx, c.network.ID, client.NetworkConnectOptions{Container: c.id})
		return err
	}, func(before, after ContainerState) error {
		if !slices.Contains(after.Networks, c.network.Name) {
			return fmt.Errorf("container is not attached to network %s", c.network.Name)
		}
		return nil
	}, true)
}

// State is the container's state now, with a probe of the API.
func (c *ContainerCluster) State(ctx context.Context) (ContainerState, error) {
	return c.state(ctx, true)
}

// state inspects the container and, when probe is set, probes the API (up to containerProbeTime).
func (c *ContainerCluster) state(ctx context.Context, probe bool) (ContainerState, error) {
	if c.id == "" || c.removed.Load() {
		return ContainerState{}, fmt.Errorf("%s: the container was removed (Stop)", containerWho)
	}
	res, err := c.docker.ContainerInspect(ctx, c.id, client.ContainerInspectOptions{})
	if err != nil {
		return ContainerState{}, fmt.Errorf("%s: inspect container %s: %w", containerWho, shortID(c.id), err)
	}
	var s ContainerState
	if st := res.Container.State; st != nil {
		s.Status, s.Paused, s.Pid = string(st.Status), st.Paused, st.Pid
		s.StartedAt, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
	}
	if ns := res.Container.NetworkSettings; ns != nil {
		for name := range ns.Networks {
			s.Networks = append(s.Networks, name)
		}
		slices.Sort(s.Networks)
	}
	if probe {
		s.API, s.APIDetail = c.probe(ctx)
	}
	return s, nil
}

// probe classifies one GET /readyz.
func (c *ContainerCluster) probe(ctx context.Context) (string, string) {
	err := c.readyz(ctx, containerProbeTime)
	var op *net.OpError
	switch {
	case err == nil:
		return APIReady, ""
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return APITimeout, ""
	case errors.As(err, &op) && op.Op == "dial",
		strings.Contains(err.Error(), "connection refused"),
		strings.Contains(err.Error(), "connection reset"),
		strings.Contains(err.Error(), "EOF"):
		return APIRefused, ""
	default:
		return APIError, err.Error()
	}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout() ||
		strings.Contains(err.Error(), "Client.Timeout") || strings.Contains(err.Error(), "context deadline exceeded")
}

// fault runs one fault: state before, the action, state after, the check of the evidence, and,
// when ready is set, a wait until the API answers again (the returned After shows it ready).
func (c *ContainerCluster) fault(ctx context.Context, name string, act func(context.Context) error,
	check func(before, after ContainerState) error, ready bool) (FaultEvidence, error) {
	c.faults.Lock()
	defer c.faults.Unlock()
	ev := FaultEvidence{Fault: name, Container: shortID(c.id)}
	if c.id == "" || c.removed.Load() {
		return ev, fmt.Errorf("%s: %s: the container was removed (Stop)", containerWho, name)
	}
	ctx, cancel := context.WithTimeout(ctx, containerReadyTimeout+time.Duration(containerStopGrace)*time.Second)
	defer cancel()
	var err error
	if ev.Before, err = c.State(ctx); err != nil {
		return ev, fmt.Errorf("%s: %s: %w", containerWho, name, err)
	}
	if name == FaultRestart && !slices.Contains(ev.Before.Networks, c.network.Name) {
		// Restarted off its network, the container would come up with no published port.
		return ev, fmt.Errorf("%s: %s: the container is disconnected from network %s: Reconnect first (%s)",
			containerWho, name, c.network.Name, ev.Before)
	}
	begin := time.Now()
	if err := act(ctx); err != nil {
		return ev, fmt.Errorf("%s: %s container %s: %w", containerWho, name, ev.Container, err)
	}
	if ready {
		if err := c.waitReady(ctx, containerReadyTimeout); err != nil {
			return ev, fmt.Errorf("%s: after %s: %w", containerWho, name, err)
		}
	}
	ev.Took = time.Since(begin)
	// After a wait for readiness, the wait's success is the API's state: a second probe could
	// only add a spurious timeout on a busy machine.
	if ev.After, err = c.state(ctx, !ready); err != nil {
		return ev, fmt.Errorf("%s: after %s: %w", containerWho, name, err)
	}
	if ready {
		ev.After.API = APIReady
	}
	if err := check(ev.Before, ev.After); err != nil {
		return ev, fmt.Errorf("%s: %s did not take effect: %w (%s)", containerWho, name, err, ev)
	}
	if wantAPI := map[string]string{FaultFreeze: APITimeout, FaultDisconnect: APIRefused}[name]; !ready && ev.After.API != wantAPI {
		return ev, fmt.Errorf("%s: %s did not take effect: the API is %s, want %s (%s)", containerWho, name, ev.After.API, wantAPI, ev)
	}
	return ev, nil
}
