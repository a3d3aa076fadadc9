// Command cpinit is the entrypoint of the control-plane image that the container cluster provider
// (support/cluster, E2E_CLUSTER=container) builds FROM scratch. Inside the container it:
//
//   - creates, once, a CA, a service-account signing key and client certificates for the
//     administrator and the controller manager, under --state-dir; they survive a container
//     restart, so kubeconfigs and service-account tokens issued before it stay valid;
//   - issues, on every start, a serving certificate for localhost, 127.0.0.1, the hostname and
//     the container's current addresses, signed by that CA;
//   - writes the administrator's kubeconfig (server https://127.0.0.1:<port>) to --run-dir;
//   - starts etcd, kube-apiserver and kube-controller-manager, each once the previous one is
//     healthy, and prints ReadyLine when all three are;
//   - stops them, newest first, on SIGTERM or SIGINT, and stops the others and exits non-zero
//     when one of them exits by itself.
//
// It is static (CGO_ENABLED=0) and uses nothing but the standard library, through support/pki
// and support/kubeconfig too, because the image has no C library, no shell and no /tmp.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ReadyLine is printed once etcd, kube-apiserver and kube-controller-manager are all healthy.
// The provider waits for it (with /readyz) before it hands the cluster out.
const ReadyLine = "cpinit: control plane ready"

// Bounds of the launcher. A child that is not healthy in componentTimeout will not become so;
// stopGrace is shorter than the provider's stop timeout, so that a docker stop or restart ends
// with the children stopped, not killed with the launcher.
const (
	componentTimeout = 2 * time.Minute
	stopGrace        = 3 * time.Second
	pollInterval     = 50 * time.Millisecond
)

type config struct {
	binDir, stateDir, runDir string
	port                     int
	serviceRange, firstSvcIP string
}

func main() {
	var c config
	flag.StringVar(&c.binDir, "bin-dir", "/usr/local/bin", "directory holding etcd, kube-apiserver and kube-controller-manager")
	flag.StringVar(&c.stateDir, "state-dir", "/var/lib/cp", "keys, certificates and etcd data (kept across restarts)")
	flag.StringVar(&c.runDir, "run-dir", "/var/run/cp", "where admin.kubeconfig is written")
	flag.IntVar(&c.port, "port", 6443, "kube-apiserver's secure port")
	// The same virtual range envtest gives kube-apiserver: addresses inside the cluster only, never
	// dialled from the host; the kubernetes Service's address (the range's first) is derived from it.
	flag.StringVar(&c.serviceRange, "service-cluster-ip-range", "10.0.0.0/24", "the Services' IP range")
	flag.Parse()
	prefix, err := netip.ParsePrefix(c.serviceRange)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cpinit: --service-cluster-ip-range: %v\n", err)
		os.Exit(2)
	}
	c.firstSvcIP = prefix.Masked().Addr().Next().String()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, c); err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "cpinit: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "cpinit: stopped")
}

// run prepares the state, credentials and kubeconfigs, then serves the control plane until ctx
// ends or a component exits.
func run(ctx context.Context, c config) error {
	l, err := prepare(c)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	ips := localIPs()
	fmt.Fprintf(os.Stderr, "cpinit: boot %d, hostname %s, addresses %v\n", l.boot, host, ips)
	if err := ensureCredentials(l.pki, servingHosts(host, c.firstSvcIP, ips)); err != nil {
		return err
	}
	caPEM, err := os.ReadFile(filepath.Join(l.pki, "ca.crt"))
	if err != nil {
		return err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(c.port)
	if err := writeKubeconfig(l.controllerManagerKubeconfig(), server, caPEM, l.pki, "controller-manager"); err != nil {
		return err
	}
	// Written before the servers start: the provider reads it only after ReadyLine.
	if err := writeKubeconfig(filepath.Join(c.runDir, "admin.kubeconfig"), server, caPEM, l.pki, "admin"); err != nil {
		return err
	}
	return serve(ctx, c, l, ips, server, caPEM)
}

// layout is where the launcher keeps its state in the container.
type layout struct {
	pki  string
	boot int
}

func (l layout) controllerManagerKubeconfig() string {
	return filepath.Join(l.pki, "controller-manager.kubeconfig")
}

// prepare makes the state and run directories, gives the children a TMPDIR and HOME of their own
// (scratch has no /tmp), and counts this boot.
func prepare(c config) (layout, error) {
	l := layout{pki: filepath.Join(c.stateDir, "pki")}
	tmp := filepath.Join(c.stateDir, "tmp")
	for _, d := range []string{l.pki, tmp, filepath.Join(c.stateDir, "etcd"), c.runDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return layout{}, err
		}
	}
	os.Setenv("TMPDIR", tmp)
	os.Setenv("HOME", c.stateDir)
	boot, err := countBoot(c.stateDir)
	if err != nil {
		return layout{}, err
	}
	l.boot = boot
	return l, nil
}

// serve starts etcd, kube-apiserver and kube-controller-manager, each once the one before is
// healthy, prints ReadyLine, and waits for a signal or for a component to exit by itself.
func serve(ctx context.Context, c config, l layout, ips []net.IP, server string, caPEM []byte) error {
	caPool := x509.NewCertPool()
	caPool.AppendCertsFromPEM(caPEM)
	sup := &supervisor{exited: make(chan childExit, 3)}
	defer sup.stopAll()

	if err := sup.start(ctx, c.binDir, "etcd", etcdArgs(c.stateDir)...); err != nil {
		return err
	}
	if err := sup.waitHealthy(ctx, "etcd", etcdURL+"/health", nil); err != nil {
		return err
	}
	if err := sup.start(ctx, c.binDir, "kube-apiserver", apiServerArgs(c, l.pki, ips)...); err != nil {
		return err
	}
	if err := sup.waitHealthy(ctx, "kube-apiserver", server+"/readyz", &tls.Config{RootCAs: caPool}); err != nil {
		return err
	}
	if err := sup.start(ctx, c.binDir, "kube-controller-manager", controllerManagerArgs(c, l.pki, l.controllerManagerKubeconfig())...); err != nil {
		return err
	}
	// Its serving certificate is self-signed in memory; the health check only needs an answer.
	if err := sup.waitHealthy(ctx, "kube-controller-manager", "https://127.0.0.1:10257/healthz",
		&tls.Config{InsecureSkipVerify: true}); err != nil { //nolint:gosec // loopback health check of a self-signed server
		return err
	}
	fmt.Fprintln(os.Stderr, ReadyLine)

	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "cpinit: signal received; stopping")
		return nil
	case e := <-sup.exited:
		return fmt.Errorf("%s exited by itself: %v", e.name, e.err)
	}
}

// etcdURL is where etcd serves its clients: the API server only, inside the container.
const etcdURL = "http://127.0.0.1:2379"

func etcdArgs(stateDir string) []string {
	return []string{
		"--name=cp",
		"--data-dir=" + filepath.Join(stateDir, "etcd"),
		"--listen-client-urls=" + etcdURL,
		"--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=http://127.0.0.1:2380",
		"--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=cp=http://127.0.0.1:2380",
		// The data lives as long as the container: an fsync per write buys nothing here.
		"--unsafe-no-fsync=true",
		// A single member has no peer to hear from: short timers make it leader in tens of
		// milliseconds instead of a second.
		"--heartbeat-interval=10",
		"--election-timeout=100",
		"--log-level=warn",
	}
}

func apiServerArgs(c config, pki string, ips []net.IP) []string {
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--secure-port=" + strconv.Itoa(c.port),
		"--bind-address=0.0.0.0",
		"--tls-cert-file=" + filepath.Join(pki, "apiserver.crt"),
		"--tls-private-key-file=" + filepath.Join(pki, "apiserver.key"),
		"--client-ca-file=" + filepath.Join(pki, "ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(pki, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(pki, "sa.key"),
		"--service-cluster-ip-range=" + c.serviceRange,
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		"--event-ttl=10m",
	}
	// The address of the default "kubernetes" Service's endpoints. Without one, the server
	// looks for a default route, and a container detached from its network has none.
	advertise := "127.0.0.1"
	if len(ips) > 0 {
		advertise = ips[0].String()
	}
	return append(args, "--advertise-address="+advertise)
}

func controllerManagerArgs(c config, pki, kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=10257",
		"--controllers=*",
		"--leader-elect=false",
		// Per-controller service-account credentials cost about 4 s of start (a token for each
		// controller before it starts) and buy nothing here; the local provider does the same.
		"--use-service-account-credentials=false",
		"--service-account-private-key-file=" + filepath.Join(pki, "sa.key"),
		"--root-ca-file=" + filepath.Join(pki, "ca.crt"),
		"--cluster-signing-cert-file=" + filepath.Join(pki, "ca.crt"),
		"--cluster-signing-key-file=" + filepath.Join(pki, "ca.key"),
		"--service-cluster-ip-range=" + c.serviceRange,
		// The suite deletes a namespace per scenario; the default of 5 at a time queues them.
		"--concurrent-namespace-syncs=10",
	}
}

// countBoot increments and returns the number of times the launcher started in this container.
func countBoot(stateDir string) (int, error) {
	path := filepath.Join(stateDir, "boots")
	n := 0
	if data, err := os.ReadFile(path); err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	n++
	return n, os.WriteFile(path, []byte(strconv.Itoa(n)+"\n"), 0o600)
}

// localIPs are the container's non-loopback addresses, IPv4 first.
func localIPs() []net.IP {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	return usableIPs(addrs)
}

// usableIPs keeps the addresses a peer can reach the API server on (not loopback, not
// link-local), IPv4 first.
func usableIPs(addrs []net.Addr) []net.IP {
	var v4, v6 []net.IP
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		if ipn.IP.To4() != nil {
			v4 = append(v4, ipn.IP)
		} else {
			v6 = append(v6, ipn.IP)
		}
	}
	return append(v4, v6...)
}
