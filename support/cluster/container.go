package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubernaut/gateway-contract/support/controlplane"
	"github.com/kubernaut/gateway-contract/support/runid"
)

// Labels on everything the container and k3s providers create (suiteLabels), so that
// RemoveLeftoverContainers (and `make clean-cluster`) can find what a crashed run left behind,
// and nothing else.
const (
	// LabelE2E marks the suite's containers, networks and images ("true").
	LabelE2E = "gateway-contract.e2e"
	// LabelE2ERun is the run id of a container or network (ContainerCluster.RunID).
	LabelE2ERun = "gateway-contract.e2e.run"
	// LabelE2EOwner is "<hostname>/<pid>" of the process that started it; while that process
	// lives, RemoveLeftoverContainers leaves the container alone unless asked for its run.
	LabelE2EOwner = "gateway-contract.e2e.owner"
	// LabelE2EComponent says what it is: "controlplane" for the image and its containers, "k3s"
	// for a k3s container.
	LabelE2EComponent = "gateway-contract.e2e.component"
)

// ContainerImageRepo is the repository of the control-plane image; the tag is a hash of its
// content (binaries, launcher, Dockerfile), so one image serves every run of one build.
const ContainerImageRepo = "gateway-contract-e2e/controlplane"

// cpinitReadyLine is what support/cmd/cpinit prints once etcd, kube-apiserver and
// kube-controller-manager are healthy (its ReadyLine; TestCpinitReadyLineMatches keeps the two equal).
const cpinitReadyLine = "cpinit: control plane ready"

// Where the launcher, inside the container, serves and writes.
const (
	containerAPIPort    = "6443/tcp"
	containerKubeconfig = "/var/run/cp/admin.kubeconfig"
	containerHostname   = "controlplane"
)

// Bounds of the container provider. The control plane is ready in seconds; building the image
// takes about as long as copying 200 MB into the engine. None of this includes building the
// binaries, which EnsureBinaries does first and without a deadline of its own (minutes, once).
const (
	containerStartTimeout = 4 * time.Minute
	containerReadyTimeout = 2 * time.Minute
	containerStopTimeout  = time.Minute
	// containerStopGrace is how long (s) docker stop/restart waits for the launcher before
	// SIGKILL; the launcher gives each of its three children 3 s (they need well under one).
	containerStopGrace = 10
	containerProbeTime = time.Second
	portAttempts       = 3
)

// containerProvider runs etcd, kube-apiserver and kube-controller-manager, built from their Go
// modules by support/controlplane, in one unprivileged container of an image built FROM scratch.
type containerProvider struct {
	host         string // DOCKER_HOST as the checks see it
	dial         dockerDialer
	lookPath     func(string) (string, error)
	binaries     func(context.Context, io.Writer) (string, error)
	log          io.Writer
	startTimeout time.Duration
	readyTimeout time.Duration // from the container's start to a ready API
}

func newContainer(o Options) *containerProvider {
	return &containerProvider{
		host:         o.dockerHost(),
		dial:         dialDocker,
		lookPath:     exec.LookPath,
		binaries:     controlplane.EnsureBinaries,
		log:          o.log(),
		startTimeout: containerStartTimeout,
		readyTimeout: containerReadyTimeout,
	}
}

func (p *containerProvider) Name() string { return NameContainer }

const containerWho = "container cluster"

// Start builds the image if this machine lacks it, and starts a container of it on a network
// of its own, with the API published on a fixed port of 127.0.0.1.
func (p *containerProvider) Start(ctx context.Context) (Cluster, error) {
	if err := p.checkPrerequisites(ctx); err != nil {
		return nil, err
	}
	if err := configureTestcontainers(p.host); err != nil {
		return nil, err
	}
	docker, err := client.New(client.FromEnv, client.WithHost(p.host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, missing(err, "%s: no Docker engine at %s: start dockerd or set DOCKER_HOST", containerWho, p.host)
	}
	if removed, err := removeLeftovers(ctx, docker, ""); err != nil {
		fmt.Fprintf(p.log, "%s: removing leftovers of earlier runs: %v\n", containerWho, err)
	} else if len(removed) > 0 {
		fmt.Fprintf(p.log, "%s: removed %d leftovers of crashed runs: %s\n", containerWho, len(removed), strings.Join(removed, " "))
	}

	// The binaries' build takes minutes on first use, so it is outside the start deadline.
	binDir, err := p.binaries(ctx, p.log)
	if err != nil {
		docker.Close()
		return nil, fmt.Errorf("%s: %w", containerWho, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.startTimeout)
	defer cancel()

	begin := time.Now()
	ref, built, err := ensureImage(ctx, docker, binDir, p.log)
	if err != nil {
		docker.Close()
		return nil, fmt.Errorf("%s: %w", containerWho, err)
	}
	if built {
		fmt.Fprintf(p.log, "%s: built image %s in %s\n", containerWho, ref, time.Since(begin).Round(time.Millisecond))
	}

	c := &ContainerCluster{docker: docker, image: ref, imageTime: time.Since(begin), readyTimeout: p.readyTimeout}
	if err := c.start(ctx); err != nil {
		// Start owns what it created until it returns a Cluster; give it all back on any failure.
		return nil, errors.Join(err, c.Stop(context.WithoutCancel(ctx)))
	}
	fmt.Fprintf(p.log, "%s: %s ready in %s (container %s, run %s)\n",
		containerWho, c.cfg.Host, c.startup.Round(time.Millisecond), shortID(c.id), c.runID)
	return c, nil
}

// checkPrerequisites fails in one line when the engine does not answer, is not on this machine,
// or there is no go command to build the launcher with.
func (p *containerProvider) checkPrerequisites(ctx context.Context) error {
	eng, err := p.dial(p.host)
	if err != nil {
		return missing(err, "%s: no Docker engine at %s: start dockerd or set DOCKER_HOST", containerWho, p.host)
	}
	defer eng.Close()
	pctx, cancel := context.WithTimeout(ctx, dockerPingTimeout)
	defer cancel()
	if err := eng.Ping(pctx); err != nil {
		return missing(err, "%s: no Docker engine at %s: start dockerd or set DOCKER_HOST", containerWho, eng.Host())
	}
	if !localDockerHost(p.host) {
		return missing(nil, "%s: the Docker engine at %s is not on this machine, and the API is published on its 127.0.0.1 only: "+
			"point DOCKER_HOST at a local engine (unix socket) or set E2E_CLUSTER=local", containerWho, p.host)
	}
	if _, err := p.lookPath("go"); err != nil {
		return missing(nil, "%s: no 'go' command on PATH to build the control-plane launcher with: install Go 1.26 "+
			"(or set E2E_CLUSTER=existing)", containerWho)
	}
	return nil
}

// localDockerHost reports whether the engine runs on this machine: a socket, or TCP to a
// loopback address.
func localDockerHost(host string) bool {
	u, err := url.Parse(host)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe":
		return true
	case "tcp", "http", "https":
		h := u.Hostname()
		if h == "localhost" {
			return true
		}
		ip, err := netip.ParseAddr(h)
		return err == nil && ip.IsLoopback()
	}
	return false
}

// configureTestcontainers turns Ryuk off (its image cannot be pulled here; Stop and
// RemoveLeftoverContainers clean up instead) and tells testcontainers that published ports are
// on localhost: it believes it runs in a container (/.dockerenv) and would otherwise use the
// default gateway's address. testcontainers reads the Ryuk setting once per process.
func configureTestcontainers(host string) error {
	const override = "TESTCONTAINERS_HOST_OVERRIDE"
	if err := disableRyuk(containerWho); err != nil {
		return err
	}
	if localDockerHost(host) {
		if err := os.Setenv(override, "localhost"); err != nil {
			return fmt.Errorf("%s: set %s: %w", containerWho, override, err)
		}
	}
	return nil
}

// ContainerCluster is the cluster of E2E_CLUSTER=container: etcd, kube-apiserver and
// kube-controller-manager in one container, reached at https://127.0.0.1:<HostPort>. Besides the
// Cluster methods it offers faults that act on the container (Freeze, Thaw, Restart,
// Disconnect, Reconnect), each returning what Docker reports afterwards as evidence.
type ContainerCluster struct {
	docker    *client.Client
	image     string
	imageTime time.Duration // finding or building the image

	runID      string
	owner      string
	network    *testcontainers.DockerNetwork
	ctr        testcontainers.Container
	id         string
	port       int
	cfg        *rest.Config
	kubeconfig []byte
	startup    time.Duration
	// readyTimeout bounds the wait for a ready API after the container starts.
	readyTimeout time.Duration

	faults   sync.Mutex  // one fault at a time
	removed  atomic.Bool // the container is gone (Stop); id stays for messages
	stopOnce sync.Once
	stopErr  error
}

var _ Cluster = (*ContainerCluster)(nil)

func (c *ContainerCluster) Name() string { return NameContainer }

// RESTConfig returns a copy of the administrator's config (client certificate, CA verified).
func (c *ContainerCluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.cfg) }

// StartupDuration is how long the container took from creation to a ready API, without the
// image build.
func (c *ContainerCluster) StartupDuration() time.Duration { return c.startup }

// ImageDuration is how long finding (or, the first time, building) the image took.
func (c *ContainerCluster) ImageDuration() time.Duration { return c.imageTime }

// RunID labels this run's container and network (LabelE2ERun).
func (c *ContainerCluster) RunID() string { return c.runID }

// ContainerID is the Docker id of the control-plane container.
func (c *ContainerCluster) ContainerID() string { return c.id }

// Image is the control-plane image the container runs.
func (c *ContainerCluster) Image() string { return c.image }

// HostPort is the port of 127.0.0.1 that the API is published on; it does not change on Restart.
func (c *ContainerCluster) HostPort() int { return c.port }

// Kubeconfig is the administrator's kubeconfig, with the server at https://127.0.0.1:HostPort.
func (c *ContainerCluster) Kubeconfig() []byte { return append([]byte(nil), c.kubeconfig...) }

// NetworkName is the Docker network the provider created for the container.
func (c *ContainerCluster) NetworkName() string {
	if c.network == nil {
		return ""
	}
	return c.network.Name
}

func (c *ContainerCluster) start(ctx context.Context) error {
	c.runID = runid.New()
	labels := suiteLabels(c.runID, "controlplane")
	c.owner = labels[LabelE2EOwner]

	var err error
	c.network, err = tcnetwork.New(ctx, tcnetwork.WithLabels(labels), tcnetwork.WithAttachable())
	if err != nil {
		c.network = nil
		return fmt.Errorf("%s: create network: %w", containerWho, err)
	}

	var lastErr error
	for range portAttempts {
		port, err := freeLoopbackPort()
		if err != nil {
			return fmt.Errorf("%s: %w", containerWho, err)
		}
		begin := time.Now()
		ctr, err := testcontainers.GenericContainer(ctx, c.request(labels, port))
		if dc, ok := ctr.(*testcontainers.DockerContainer); ctr != nil && (!ok || dc != nil) && ctr.GetContainerID() != "" {
			c.ctr, c.id = ctr, ctr.GetContainerID() // also on error: Stop removes it
		}
		if err == nil {
			c.port = port
			err := c.connect(ctx)
			c.startup = time.Since(begin)
			return err
		}
		lastErr = fmt.Errorf("%s: start container of %s: %w%s", containerWho, c.image, err, c.logTail(context.WithoutCancel(ctx)))
		if !portTaken(err) {
			return lastErr
		}
		// Another process took the port between our check and Docker's bind: try another.
		if rerr := c.removeContainer(ctx); rerr != nil {
			return errors.Join(lastErr, rerr)
		}
		c.id, c.ctr = "", nil
		c.removed.Store(false)
	}
	return lastErr
}

func (c *ContainerCluster) request(labels map[string]string, port int) testcontainers.GenericContainerRequest {
	apiPort := network.MustParsePort(containerAPIPort)
	return testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:          c.image,
			Name:           "gateway-e2e-cp-" + c.runID,
			Labels:         labels,
			ExposedPorts:   []string{containerAPIPort},
			Networks:       []string{c.network.Name},
			NetworkAliases: map[string][]string{c.network.Name: {containerHostname}},
			ConfigModifier: func(cfg *container.Config) {
				cfg.Hostname = containerHostname
				cfg.StopTimeout = new(int)
				*cfg.StopTimeout = containerStopGrace
			},
			// A fixed port, chosen here, so that a restart publishes the API where it was.
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.PortBindings = network.PortMap{apiPort: {{
					HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(port),
				}}}
			},
			WaitingFor: wait.ForAll(
				wait.ForLog(cpinitReadyLine),
				// Insecure for the wait only: connect verifies the CA and the SAN for 127.0.0.1.
				wait.ForHTTP("/readyz").WithPort(containerAPIPort).WithTLS(true).WithAllowInsecure(true).
					WithPollInterval(100*time.Millisecond),
			).WithDeadline(c.readyTimeout),
		},
		Started: true,
		Logger:  tclog.NewNoopLogger(),
	}
}

// connect reads the kubeconfig the launcher wrote, points it at the published port and checks
// that the API answers with verified TLS and the administrator's certificate.
func (c *ContainerCluster) connect(ctx context.Context) error {
	rc, err := c.ctr.CopyFileFromContainer(ctx, containerKubeconfig)
	if err != nil {
		return fmt.Errorf("%s: copy %s from container %s: %w", containerWho, containerKubeconfig, shortID(c.id), err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("%s: read %s from container %s: %w", containerWho, containerKubeconfig, shortID(c.id), err)
	}
	raw, err := clientcmd.Load(data)
	if err != nil {
		return fmt.Errorf("%s: parse kubeconfig from container %s: %w", containerWho, shortID(c.id), err)
	}
	server := "https://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port))
	for _, cl := range raw.Clusters {
		cl.Server = server
	}
	if c.kubeconfig, err = clientcmd.Write(*raw); err != nil {
		return fmt.Errorf("%s: write kubeconfig: %w", containerWho, err)
	}
	if c.cfg, err = clientcmd.RESTConfigFromKubeConfig(c.kubeconfig); err != nil {
		return fmt.Errorf("%s: kubeconfig from container %s: %w", containerWho, shortID(c.id), err)
	}
	if err := c.waitReady(ctx, 10*time.Second); err != nil {
		return fmt.Errorf("%s: %w", containerWho, err)
	}
	return c.waitControllers(ctx)
}

// waitControllers returns once the service account controller has made the default namespace's
// "default" ServiceAccount: proof that kube-controller-manager runs and can write, as the local
// provider requires too.
func (c *ContainerCluster) waitControllers(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", containerWho, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.readyTimeout)
	defer cancel()
	for {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			return fmt.Errorf("%s: waiting for the controllers: %w", containerWho, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: kube-controller-manager did not make the default ServiceAccount within %s%s",
				containerWho, c.readyTimeout, c.logTail(context.WithoutCancel(ctx)))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitReady polls /readyz with the administrator's credentials until it answers ok.
func (c *ContainerCluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if last = c.readyz(ctx, 2*time.Second); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("API server %s not ready after %s: %w%s", c.cfg.Host, timeout, last, c.logTail(context.WithoutCancel(ctx)))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *ContainerCluster) readyz(ctx context.Context, timeout time.Duration) error {
	cfg := rest.CopyConfig(c.cfg)
	cfg.Timeout = timeout
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(body)) != "ok" {
		return fmt.Errorf("/readyz answered %q", body)
	}
	return nil
}

// logTail is the end of the container's log, for errors; empty when there is none.
func (c *ContainerCluster) logTail(ctx context.Context) string {
	if c.id == "" || c.docker == nil || c.removed.Load() {
		return ""
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rc, err := c.docker.ContainerLogs(lctx, c.id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "25"})
	if err != nil {
		return ""
	}
	defer rc.Close()
	data, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
	return "\ncontainer log (last lines):\n" + demux(data)
}

// demux strips the 8-byte frame headers of a non-TTY container log stream.
func demux(data []byte) string {
	var b strings.Builder
	for len(data) >= 8 && (data[0] == 1 || data[0] == 2) {
		n := int(data[4])<<24 | int(data[5])<<16 | int(data[6])<<8 | int(data[7])
		data = data[8:]
		if n > len(data) {
			n = len(data)
		}
		b.Write(data[:n])
		data = data[n:]
	}
	b.Write(data)
	return b.String()
}

// Stop removes the container and the network, also after a failed start or a fault (a frozen
// container is thawed first). It is safe to call twice.
func (c *ContainerCluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, containerStopTimeout)
		defer cancel()
		var errs []error
		if err := c.removeContainer(ctx); err != nil {
			errs = append(errs, err)
		}
		if c.network != nil {
			if err := c.network.Remove(ctx); err != nil && !isNotFound(err) {
				errs = append(errs, fmt.Errorf("%s: remove network %s: %w", containerWho, c.network.Name, err))
			}
		}
		if c.runID != "" && c.docker != nil {
			// A safety net for anything of this run that start created but did not record
			// (testcontainers may fail after creating a container without returning it).
			if _, err := removeLeftovers(ctx, c.docker, c.runID); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", containerWho, err))
			}
		}
		c.removed.Store(true)
		if c.docker != nil {
			c.docker.Close()
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// removeContainer force-removes the container: the data dies with it, so there is nothing to
// stop gracefully.
func (c *ContainerCluster) removeContainer(ctx context.Context) error {
	if c.id == "" || c.removed.Load() {
		return nil
	}
	// Unpausing first spares relying on how the engine kills a frozen container.
	_, _ = c.docker.ContainerUnpause(ctx, c.id, client.ContainerUnpauseOptions{})
	_, err := c.docker.ContainerRemove(ctx, c.id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("%s: remove container %s: %w", containerWho, shortID(c.id), err)
	}
	c.removed.Store(true)
	return nil
}

// freeLoopbackPort asks the kernel for a free port of 127.0.0.1. Docker binds it a moment later;
// start retries with another one if something took it in between.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portTaken(err error) bool {
	s := err.Error()
	return strings.Contains(s, "port is already allocated") || strings.Contains(s, "address already in use")
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
