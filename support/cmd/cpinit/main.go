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
// It is static (CGO_ENABLED=0) and uses nothing but the standard library, because the image has
// no C library, no shell and no /tmp.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
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

func run(ctx context.Context, c config) error {
	pki := filepath.Join(c.stateDir, "pki")
	tmp := filepath.Join(c.stateDir, "tmp")
	for _, d := range []string{pki, tmp, filepath.Join(c.stateDir, "etcd"), c.runDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	// scratch has no /tmp; the children get one of their own.
	os.Setenv("TMPDIR", tmp)
	os.Setenv("HOME", c.stateDir)

	boot, err := countBoot(c.stateDir)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	ips := localIPs()
	fmt.Fprintf(os.Stderr, "cpinit: boot %d, hostname %s, addresses %v\n", boot, host, ips)

	ca, err := ensureCA(pki)
	if err != nil {
		return err
	}
	if err := ensureKey(filepath.Join(pki, "sa.key")); err != nil {
		return err
	}
	if err := writePublicKey(filepath.Join(pki, "sa.key"), filepath.Join(pki, "sa.pub")); err != nil {
		return err
	}
	for _, id := range []struct{ file, cn, org string }{
		{"admin", "kubernetes-admin", "system:masters"},
		// All-powerful, like the local provider's controller manager, which uses the
		// administrator's credentials: see --use-service-account-credentials below.
		{"controller-manager", "system:kube-controller-manager", "system:masters"},
	} {
		if err := ensureClientCert(ca, pki, id.file, id.cn, id.org); err != nil {
			return err
		}
	}
	dns := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if host != "" {
		dns = append(dns, host)
	}
	sanIPs := append([]net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback, net.ParseIP(c.firstSvcIP)}, ips...)
	if err := issueServing(ca, pki, dns, sanIPs); err != nil {
		return err
	}
	server := "https://127.0.0.1:" + strconv.Itoa(c.port)
	caPEM, err := os.ReadFile(filepath.Join(pki, "ca.crt"))
	if err != nil {
		return err
	}
	kcmKubeconfig := filepath.Join(pki, "controller-manager.kubeconfig")
	if err := writeKubeconfig(kcmKubeconfig, server, caPEM, pki, "controller-manager"); err != nil {
		return err
	}
	// Written before the servers start: the provider reads it only after ReadyLine.
	if err := writeKubeconfig(filepath.Join(c.runDir, "admin.kubeconfig"), server, caPEM, pki, "admin"); err != nil {
		return err
	}

	caPool := x509.NewCertPool()
	caPool.AppendCertsFromPEM(caPEM)
	sup := &supervisor{exited: make(chan childExit, 3)}
	defer sup.stopAll()

	etcdURL := "http://127.0.0.1:2379"
	if err := sup.start(ctx, c.binDir, "etcd",
		"--name=cp",
		"--data-dir="+filepath.Join(c.stateDir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
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
	); err != nil {
		return err
	}
	if err := sup.waitHealthy(ctx, "etcd", etcdURL+"/health", nil); err != nil {
		return err
	}

	apiArgs := []string{
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
	if len(ips) > 0 {
		// The address of the default "kubernetes" Service's endpoints. Without one, the server
		// looks for a default route, and a container detached from its network has none.
		apiArgs = append(apiArgs, "--advertise-address="+ips[0].String())
	} else {
		apiArgs = append(apiArgs, "--advertise-address=127.0.0.1")
	}
	if err := sup.start(ctx, c.binDir, "kube-apiserver", apiArgs...); err != nil {
		return err
	}
	if err := sup.waitHealthy(ctx, "kube-apiserver", server+"/readyz", &tls.Config{RootCAs: caPool}); err != nil {
		return err
	}

	if err := sup.start(ctx, c.binDir, "kube-controller-manager",
		"--kubeconfig="+kcmKubeconfig,
		"--authentication-kubeconfig="+kcmKubeconfig,
		"--authorization-kubeconfig="+kcmKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=10257",
		"--controllers=*",
		"--leader-elect=false",
		// Per-controller service-account credentials cost about 4 s of start (a token for each
		// controller before it starts) and buy nothing here; the local provider does the same.
		"--use-service-account-credentials=false",
		"--service-account-private-key-file="+filepath.Join(pki, "sa.key"),
		"--root-ca-file="+filepath.Join(pki, "ca.crt"),
		"--cluster-signing-cert-file="+filepath.Join(pki, "ca.crt"),
		"--cluster-signing-key-file="+filepath.Join(pki, "ca.key"),
		"--service-cluster-ip-range="+c.serviceRange,
		// The suite deletes a namespace per scenario; the default of 5 at a time queues them.
		"--concurrent-namespace-syncs=10",
	); err != nil {
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

// ---- processes

type childExit struct {
	name string
	err  error
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// supervisor runs the children and stops them newest first.
type supervisor struct {
	children []*child
	exited   chan childExit
}

func (s *supervisor) start(ctx context.Context, binDir, name string, args ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	fmt.Fprintf(os.Stderr, "cpinit: started %s (pid %d)\n", name, cmd.Process.Pid)
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	s.children = append(s.children, c)
	go func() {
		err := cmd.Wait()
		close(c.done)
		s.exited <- childExit{name: name, err: err}
	}()
	return nil
}

// waitHealthy polls url until it answers 200, the child exits, or the context ends.
func (s *supervisor) waitHealthy(ctx context.Context, name, url string, tlsConfig *tls.Config) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	defer client.CloseIdleConnections()
	begin := time.Now()
	deadline := time.NewTimer(componentTimeout)
	defer deadline.Stop()
	var last error
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(os.Stderr, "cpinit: %s healthy after %s\n", name, time.Since(begin).Round(time.Millisecond))
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-s.exited:
			return fmt.Errorf("%s exited while waiting for %s to become healthy: %v", e.name, name, e.err)
		case <-deadline.C:
			return fmt.Errorf("%s not healthy after %s: %v", name, componentTimeout, last)
		case <-time.After(pollInterval):
		}
	}
}

func (s *supervisor) stopAll() {
	for i := len(s.children) - 1; i >= 0; i-- {
		c := s.children[i]
		select {
		case <-c.done:
			continue
		default:
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(stopGrace):
			fmt.Fprintf(os.Stderr, "cpinit: %s did not stop in %s; killing it\n", c.name, stopGrace)
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
}

// ---- keys and certificates

type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func ensureCA(pki string) (*authority, error) {
	certPath, keyPath := filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key")
	if _, err := os.Stat(certPath); err == nil {
		return loadCA(certPath, keyPath)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "gateway-contract-e2e-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	// Key first: a certificate without its key would make the next boot fail.
	if err := writeKeyFile(keyPath, key); err != nil {
		return nil, err
	}
	if err := writePEM(certPath, "CERTIFICATE", der); err != nil {
		return nil, err
	}
	return loadCA(certPath, keyPath)
}

func loadCA(certPath, keyPath string) (*authority, error) {
	cert, err := readCert(certPath)
	if err != nil {
		return nil, err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key}, nil
}

func ensureKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	return writeKeyFile(path, key)
}

func writePublicKey(keyPath, pubPath string) error {
	key, err := readKey(keyPath)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return writePEM(pubPath, "PUBLIC KEY", der)
}

func ensureClientCert(ca *authority, pki, name, cn, org string) error {
	if _, err := os.Stat(filepath.Join(pki, name+".crt")); err == nil {
		return nil
	}
	subject := pkix.Name{CommonName: cn}
	if org != "" {
		subject.Organization = []string{org}
	}
	return issue(ca, pki, name, &x509.Certificate{
		Subject:     subject,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotAfter:    time.Now().AddDate(10, 0, 0),
	})
}

// issueServing replaces the serving certificate on every boot, because the container's addresses
// may have changed since the last one.
func issueServing(ca *authority, pki string, dns []string, ips []net.IP) error {
	return issue(ca, pki, "apiserver", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    dns,
		IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotAfter:    time.Now().AddDate(1, 0, 0),
	})
}

func issue(ca *authority, pki, name string, tmpl *x509.Certificate) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl.SerialNumber = serial()
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return err
	}
	if err := writeKeyFile(filepath.Join(pki, name+".key"), key); err != nil {
		return err
	}
	return writePEM(filepath.Join(pki, name+".crt"), "CERTIFICATE", der)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

func writeKeyFile(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

func writePEM(path, typ string, der []byte) error {
	return writeAtomic(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readCert(path string) (*x509.Certificate, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(block.Bytes)
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	block, err := readPEM(path)
	if err != nil {
		return nil, err
	}
	return x509.ParseECPrivateKey(block.Bytes)
}

func readPEM(path string) (*pem.Block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New(path + ": no PEM block")
	}
	return block, nil
}

// writeKubeconfig writes a one-context kubeconfig with the client certificate pki/<name>.crt.
// It is YAML written by hand so that the launcher needs nothing but the standard library.
func writeKubeconfig(path, server string, caPEM []byte, pki, name string) error {
	cert, err := os.ReadFile(filepath.Join(pki, name+".crt"))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(filepath.Join(pki, name+".key"))
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString
	var buf bytes.Buffer
	fmt.Fprintf(&buf, `apiVersion: v1
kind: Config
clusters:
- name: controlplane
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    client-certificate-data: %s
    client-key-data: %s
contexts:
- name: controlplane
  context:
    cluster: controlplane
    user: %s
current-context: controlplane
`, server, b64(caPEM), name, b64(cert), b64(key), name)
	return writeAtomic(path, buf.Bytes())
}
