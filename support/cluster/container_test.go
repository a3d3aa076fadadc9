package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubernaut/gateway-contract/support/controlplane"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// requireDocker skips the test when no Docker engine answers at DOCKER_HOST (or the default
// socket): the one reason these tests may skip.
func requireDocker(t *testing.T) *client.Client {
	t.Helper()
	host := optionsFrom(os.Getenv).dockerHost()
	docker, err := client.New(client.FromEnv, client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		t.Skipf("no Docker engine at %s: %v", host, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerPingTimeout)
	defer cancel()
	if _, err := docker.Ping(ctx, client.PingOptions{}); err != nil {
		docker.Close()
		t.Skipf("no Docker engine at %s: %v", host, err)
	}
	t.Cleanup(func() { docker.Close() })
	return docker
}

// listLabelled lists the containers and networks carrying label=value.
func listLabelled(ctx context.Context, t *testing.T, docker *client.Client, label, value string) (ctrs, nets []string) {
	t.Helper()
	f := make(client.Filters).Add("label", label+"="+value)
	cl, err := docker.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	require.NoError(t, err)
	for _, c := range cl.Items {
		ctrs = append(ctrs, c.ID)
	}
	nl, err := docker.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	require.NoError(t, err)
	for _, n := range nl.Items {
		nets = append(nets, n.Name)
	}
	return ctrs, nets
}

// TestContainerProviderForReal starts the control plane in a container, uses it with client-go,
// fires every fault and checks its evidence, and checks that Stop leaves nothing behind.
func TestContainerProviderForReal(t *testing.T) {
	docker := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()

	p, err := fromEnv(env(map[string]string{"E2E_CLUSTER": NameContainer, "DOCKER_HOST": os.Getenv("DOCKER_HOST")}))
	require.NoError(t, err)
	begin := time.Now()
	c, err := p.Start(ctx)
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop(context.Background())
		}
	}()
	cc := c.(*ContainerCluster)
	t.Logf("image %s in %s; container ready in %s; Start took %s",
		cc.Image(), cc.ImageDuration(), cc.StartupDuration(), time.Since(begin))
	require.Equal(t, NameContainer, c.Name())

	// The API is on a loopback address, and TLS verifies against the CA (no insecure flag).
	cfg := c.RESTConfig()
	u, err := url.Parse(cfg.Host)
	require.NoError(t, err)
	ip := net.ParseIP(u.Hostname())
	require.NotNil(t, ip, "kubeconfig host %s is not an IP", cfg.Host)
	require.True(t, ip.IsLoopback(), "kubeconfig host %s is not loopback", cfg.Host)
	require.Equal(t, strconv.Itoa(cc.HostPort()), u.Port())
	require.False(t, cfg.Insecure)
	require.NotEmpty(t, cfg.CAData)
	kc, err := clientcmd.Load(cc.Kubeconfig())
	require.NoError(t, err)
	for _, cl := range kc.Clusters {
		require.Equal(t, cfg.Host, cl.Server)
	}

	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	v, err := cs.Discovery().ServerVersion()
	require.NoError(t, err)
	require.Equal(t, controlplane.KubernetesVersion, v.GitVersion)

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "container-provider-" + cc.RunID()}}
	_, err = cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	require.NoError(t, err)
	// kube-controller-manager runs: its service-account controller gives the namespace a default
	// ServiceAccount.
	requireEventually(t, 60*time.Second, func() error {
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err
	}, "the controller manager did not create the default ServiceAccount")

	// Service-account tokens: issued with the container's signing key and accepted by the server.
	sa, err := cs.CoreV1().ServiceAccounts(ns.Name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	tr, err := cs.CoreV1().ServiceAccounts(ns.Name).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	require.NoError(t, err)
	saCfg := rest.AnonymousClientConfig(cfg)
	saCfg.BearerToken = tr.Status.Token
	saCS, err := kubernetes.NewForConfig(saCfg)
	require.NoError(t, err)
	review, err := saCS.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, "system:serviceaccount:"+ns.Name+":probe", review.Status.UserInfo.Username)

	// Freeze and Thaw.
	ev, err := cc.Freeze(ctx)
	require.NoError(t, err)
	t.Log(ev)
	require.True(t, ev.After.Paused)
	require.Equal(t, APITimeout, ev.After.API)
	short := c.RESTConfig()
	short.Timeout = time.Second
	scs, err := kubernetes.NewForConfig(short)
	require.NoError(t, err)
	_, err = scs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
	require.Error(t, err, "a frozen API server answered")

	ev, err = cc.Thaw(ctx)
	require.NoError(t, err)
	t.Log(ev)
	require.True(t, ev.Before.Paused)
	require.False(t, ev.After.Paused)
	require.Equal(t, APIReady, ev.After.API)
	_, err = cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
	require.NoError(t, err)

	// Restart: the same config (CA, client certificate, port) works and the data survives.
	ev, err = cc.Restart(ctx)
	require.NoError(t, err)
	t.Log(ev)
	require.True(t, ev.After.StartedAt.After(ev.Before.StartedAt))
	require.NotEqual(t, ev.Before.Pid, ev.After.Pid)
	require.Equal(t, APIReady, ev.After.API)
	t.Logf("restart to ready: %s", ev.Took)
	_, err = cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
	require.NoError(t, err, "the namespace did not survive the restart")
	_, err = saCS.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	require.NoError(t, err, "a token issued before the restart is refused after it")
	require.Equal(t, cfg.Host, c.RESTConfig().Host)

	// Disconnect and Reconnect.
	ev, err = cc.Disconnect(ctx)
	require.NoError(t, err)
	t.Log(ev)
	require.Contains(t, ev.Before.Networks, cc.NetworkName())
	require.NotContains(t, ev.After.Networks, cc.NetworkName())
	require.Equal(t, APIRefused, ev.After.API)
	_, err = scs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
	require.Error(t, err, "a disconnected API server answered")

	ev, err = cc.Reconnect(ctx)
	require.NoError(t, err)
	t.Log(ev)
	require.Contains(t, ev.After.Networks, cc.NetworkName())
	require.Equal(t, APIReady, ev.After.API)
	_, err = cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
	require.NoError(t, err)

	// The namespace controller empties and removes a deleted namespace.
	_, err = cs.CoreV1().ConfigMaps(ns.Name).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}))
	requireEventually(t, 60*time.Second, func() error {
		_, err := cs.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("namespace still there: %v", err)
	}, "the namespace controller did not remove the deleted namespace")

	// Restart refuses a disconnected container, which would come back without its port.
	_, err = cc.Disconnect(ctx)
	require.NoError(t, err)
	_, err = cc.Restart(ctx)
	require.ErrorContains(t, err, "Reconnect first")
	_, err = cc.Reconnect(ctx)
	require.NoError(t, err)

	// Stop removes the container (frozen, here) and the network, and is safe to call twice.
	_, err = cc.Freeze(ctx)
	require.NoError(t, err)
	run := cc.RunID()
	ctrs, nets := listLabelled(ctx, t, docker, LabelE2ERun, run)
	require.Len(t, ctrs, 1)
	require.Len(t, nets, 1)
	begin = time.Now()
	require.NoError(t, c.Stop(ctx))
	stopped = true
	t.Logf("Stop took %s", time.Since(begin))
	require.NoError(t, c.Stop(ctx))
	ctrs, nets = listLabelled(ctx, t, docker, LabelE2ERun, run)
	require.Empty(t, ctrs, "containers of run %s left after Stop", run)
	require.Empty(t, nets, "networks of run %s left after Stop", run)
	_, err = cc.Freeze(ctx)
	require.Error(t, err, "a fault on a stopped cluster")
}

// A start that fails after the container was created (here: the API is not ready in time)
// removes the container and the network.
func TestContainerFailedStartCleansUp(t *testing.T) {
	docker := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	p := newContainer(optionsFrom(os.Getenv))
	p.readyTimeout = time.Millisecond
	c, err := p.Start(ctx)
	require.Nil(t, c)
	require.Error(t, err)
	t.Log(err)
	require.NotErrorIs(t, err, ErrMissingPrerequisite)
	host, _ := os.Hostname()
	ctrs, nets := listLabelled(ctx, t, docker, LabelE2EOwner, host+"/"+strconv.Itoa(os.Getpid()))
	require.Empty(t, ctrs, "a failed start left containers")
	require.Empty(t, nets, "a failed start left networks")
}

// Leftovers of a dead owner go; a live owner's stay unless its run is named.
func TestRemoveLeftoverContainers(t *testing.T) {
	docker := requireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	host, _ := os.Hostname()
	mk := func(run, owner string) string {
		res, err := docker.NetworkCreate(ctx, "gateway-e2e-leftover-"+run, client.NetworkCreateOptions{
			Labels: map[string]string{LabelE2E: "true", LabelE2ERun: run, LabelE2EOwner: owner},
		})
		require.NoError(t, err)
		t.Cleanup(func() { _, _ = docker.NetworkRemove(context.Background(), res.ID, client.NetworkRemoveOptions{}) })
		return "network/gateway-e2e-leftover-" + run
	}
	dead := mk("deadbeef", host+"/999999999")
	live := mk("a11ve000", host+"/"+strconv.Itoa(os.Getpid()))
	other := mk("e15ewhere", "another-host/1")

	removed, err := RemoveLeftoverContainers(ctx, "")
	require.NoError(t, err)
	require.Contains(t, removed, dead)
	require.NotContains(t, removed, live)
	require.NotContains(t, removed, other)

	removed, err = RemoveLeftoverContainers(ctx, "a11ve000")
	require.NoError(t, err)
	require.Equal(t, []string{live}, removed)
	removed, err = RemoveLeftoverContainers(ctx, "e15ewhere")
	require.NoError(t, err)
	require.Equal(t, []string{other}, removed)
}

func requireEventually(t *testing.T, within time.Duration, f func() error, msg string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s: %v", msg, within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The missing prerequisites of the container provider, each in one line, without Docker.
func TestContainerPrerequisites(t *testing.T) {
	goPath := func(f string) (string, error) {
		if f == "go" {
			return "/usr/bin/go", nil
		}
		return "", errors.New("not found")
	}
	noGo := func(string) (string, error) { return "", errors.New("not found") }
	mustNotBuild := func(context.Context, io.Writer) (string, error) {
		return "", errors.New("Start went past its prerequisites")
	}
	for _, tc := range []struct {
		name     string
		host     string
		dial     dockerDialer
		lookPath func(string) (string, error)
		wants    []string
	}{
		{"bad DOCKER_HOST", "unix:///fake.sock", fakeDial(nil, errors.New("unable to parse docker host")), goPath,
			[]string{"container cluster: no Docker engine at unix:///fake.sock: start dockerd or set DOCKER_HOST", "unable to parse"}},
		{"engine does not answer", "unix:///fake.sock", fakeDial(&fakeEngine{pingErr: errors.New("connection refused")}, nil), goPath,
			[]string{"container cluster: no Docker engine at unix:///fake.sock: start dockerd or set DOCKER_HOST (connection refused)"}},
		{"remote engine", "tcp://docker.example:2375", fakeDial(&fakeEngine{}, nil), goPath,
			[]string{"container cluster: the Docker engine at tcp://docker.example:2375 is not on this machine", "point DOCKER_HOST at a local engine"}},
		{"no go command", "unix:///fake.sock", fakeDial(&fakeEngine{}, nil), noGo,
			[]string{"container cluster: no 'go' command on PATH to build the control-plane launcher with: install Go 1.26"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &containerProvider{host: tc.host, dial: tc.dial, lookPath: tc.lookPath, binaries: mustNotBuild,
				log: os.Stderr, startTimeout: time.Minute, readyTimeout: time.Minute}
			c, err := p.Start(context.Background())
			require.Nil(t, c)
			requirePrereq(t, err, tc.wants...)
		})
	}
}

// The real Docker client against an engine that is not there.
func TestContainerNoDockerEngineReal(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	p, err := fromEnv(env(map[string]string{"E2E_CLUSTER": NameContainer, "DOCKER_HOST": "unix:///nonexistent.sock"}))
	require.NoError(t, err)
	begin := time.Now()
	_, err = p.Start(context.Background())
	requirePrereq(t, err, "container cluster: no Docker engine at unix:///nonexistent.sock: start dockerd or set DOCKER_HOST")
	require.Less(t, time.Since(begin), dockerPingTimeout+5*time.Second)
}

func TestLocalDockerHost(t *testing.T) {
	for host, want := range map[string]bool{
		"unix:///var/run/docker.sock": true,
		"tcp://127.0.0.1:2375":        true,
		"tcp://localhost:2375":        true,
		"tcp://[::1]:2375":            true,
		"tcp://docker.example:2375":   false,
		"ssh://me@box":                false,
		"%%":                          false,
	} {
		require.Equal(t, want, localDockerHost(host), host)
	}
}

func TestOwnerAlive(t *testing.T) {
	host, _ := os.Hostname()
	require.True(t, ownerAlive(host+"/"+strconv.Itoa(os.Getpid()), host), "this process")
	require.False(t, ownerAlive(host+"/999999999", host), "no such pid")
	require.True(t, ownerAlive("elsewhere/1", host), "another machine's process is not ours to judge")
	require.True(t, ownerAlive("garbage", host))
}

// The provider waits for the line the launcher prints; the two must not drift apart.
func TestCpinitReadyLineMatches(t *testing.T) {
	path, err := repo.Path("support", "cmd", "cpinit", "main.go")
	require.NoError(t, err)
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(src), `const ReadyLine = "`+cpinitReadyLine+`"`)
}

func TestDemuxLogStream(t *testing.T) {
	frame := func(stream byte, s string) []byte {
		n := len(s)
		return append([]byte{stream, 0, 0, 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, s...)
	}
	data := append(frame(1, "out\n"), frame(2, "err\n")...)
	require.Equal(t, "out\nerr\n", demux(data))
	require.True(t, slices.Equal([]string{"a"}, strings.Fields(demux([]byte("a")))))
}
