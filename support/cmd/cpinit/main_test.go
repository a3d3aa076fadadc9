package main

import (
	"crypto/x509"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubernaut/gateway-contract/support/pki"
)

func TestEnsureCredentialsKeepsTheCAAndReissuesTheServingCertificate(t *testing.T) {
	dir := t.TempDir()
	if err := ensureCredentials(dir, []string{"127.0.0.1", "old-host"}); err != nil {
		t.Fatal(err)
	}
	first := readFiles(t, dir)
	for _, name := range []string{"ca.crt", "ca.key", "sa.key", "sa.pub", "admin.crt", "admin.key",
		"controller-manager.crt", "controller-manager.key", "apiserver.crt", "apiserver.key"} {
		if first[name] == "" {
			t.Errorf("%s not written", name)
		}
	}
	if err := ensureCredentials(dir, []string{"127.0.0.1", "new-host"}); err != nil {
		t.Fatal(err)
	}
	second := readFiles(t, dir)
	for _, kept := range []string{"ca.crt", "ca.key", "sa.key", "sa.pub", "admin.crt", "controller-manager.key"} {
		if first[kept] != second[kept] {
			t.Errorf("%s changed on the second boot: tokens and kubeconfigs issued before would break", kept)
		}
	}
	if first["apiserver.crt"] == second["apiserver.crt"] {
		t.Error("the serving certificate was not issued again")
	}
	ca, err := pki.LoadCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := pki.ParseCertPEM([]byte(second["apiserver.crt"]))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "new-host"}); err != nil {
		t.Errorf("the serving certificate is not valid for the new host: %v", err)
	}
	admin, err := pki.ParseCertPEM([]byte(second["admin.crt"]))
	if err != nil {
		t.Fatal(err)
	}
	if admin.Subject.CommonName != "kubernetes-admin" || !slices.Equal(admin.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("admin subject = %v", admin.Subject)
	}
}

func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(data)
	}
	return out
}

func TestWriteKubeconfigUsesTheClientCertificate(t *testing.T) {
	dir := t.TempDir()
	if err := ensureCredentials(dir, []string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "admin.kubeconfig")
	if err := writeKubeconfig(path, "https://127.0.0.1:6443", caPEM, dir, "admin"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := os.ReadFile(filepath.Join(dir, "admin.crt"))
	if cfg.Host != "https://127.0.0.1:6443" || string(cfg.CAData) != string(caPEM) || string(cfg.CertData) != string(cert) {
		t.Errorf("kubeconfig holds %+v", cfg)
	}
	if err := writeKubeconfig(path, "https://x", caPEM, dir, "nobody"); err == nil {
		t.Error("a kubeconfig for a name without a certificate: nil error")
	}
}

// Addresses the tests below only classify and format, never reach: TEST-NET-1 (RFC 5737), the
// range set aside for documentation, standing in for a container's and a Service's addresses.
var (
	containerIP  = net.IPv4(192, 0, 2, 2)
	containerIP2 = net.IPv4(192, 0, 2, 3)
	serviceIP    = net.IPv4(192, 0, 2, 1)
	serviceRange = serviceIP.Mask(net.CIDRMask(24, 32)).String() + "/24"
)

func TestServingHosts(t *testing.T) {
	tests := []struct {
		name     string
		hostname string
		ips      []net.IP
		want     []string
		absent   []string
	}{
		{"hostname and addresses", "cp-1", []net.IP{containerIP}, []string{"cp-1", containerIP.String(), serviceIP.String(), "127.0.0.1", "::1", "kubernetes.default.svc"}, nil},
		{"no hostname", "", nil, []string{"localhost", "127.0.0.1"}, []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := servingHosts(tc.hostname, serviceIP.String(), tc.ips)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("servingHosts = %v, missing %q", got, w)
				}
			}
			for _, a := range tc.absent {
				if slices.Contains(got, a) {
					t.Errorf("servingHosts = %v, holds %q", got, a)
				}
			}
		})
	}
}

func TestUsableIPs(t *testing.T) {
	nets := func(cidrs ...string) []net.Addr {
		var out []net.Addr
		for _, c := range cidrs {
			ip, n, err := net.ParseCIDR(c)
			if err != nil {
				t.Fatal(err)
			}
			n.IP = ip
			out = append(out, n)
		}
		return out
	}
	tests := []struct {
		name  string
		addrs []net.Addr
		want  string
	}{
		{"loopback and link-local left out", nets("127.0.0.1/8", "::1/128", "fe80::1/64"), ""},
		{"IPv4 first", nets("fd00::2/64", containerIP.String()+"/24"), containerIP.String() + " fd00::2"},
		{"none", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, ip := range usableIPs(tc.addrs) {
				got = append(got, ip.String())
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("usableIPs = %q, want %q", s, tc.want)
			}
		})
	}
}

func TestArgs(t *testing.T) {
	c := config{port: 6443, serviceRange: serviceRange, stateDir: "/var/lib/cp"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"etcd keeps its data in the state dir", etcdArgs(c.stateDir), []string{"--data-dir=/var/lib/cp/etcd", "--listen-client-urls=" + etcdURL}},
		{"the API server advertises the first address", apiServerArgs(c, "/p", []net.IP{containerIP, containerIP2}),
			[]string{"--advertise-address=" + containerIP.String(), "--secure-port=6443", "--tls-cert-file=/p/apiserver.crt", "--service-cluster-ip-range=" + serviceRange}},
		{"the API server advertises loopback without an address", apiServerArgs(c, "/p", nil), []string{"--advertise-address=127.0.0.1"}},
		{"the controller manager uses its kubeconfig and the CA", controllerManagerArgs(c, "/p", "/p/kcm.kubeconfig"),
			[]string{"--kubeconfig=/p/kcm.kubeconfig", "--cluster-signing-key-file=/p/ca.key", "--use-service-account-credentials=false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.want {
				if !slices.Contains(tc.args, w) {
					t.Errorf("args %v lack %q", tc.args, w)
				}
			}
		})
	}
}

func TestCountBoot(t *testing.T) {
	dir := t.TempDir()
	for want := 1; want <= 3; want++ {
		got, err := countBoot(dir)
		if err != nil || got != want {
			t.Fatalf("countBoot = %d, %v; want %d", got, err, want)
		}
	}
}

// TestLauncherUsesOnlyTheStandardLibrary: the launcher runs in an image FROM scratch, so nothing
// outside the standard library and the project's standard-library-only packages may creep in.
func TestLauncherUsesOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := []string{
		"github.com/kubernaut/gateway-contract/support/cmd/cpinit",
		"github.com/kubernaut/gateway-contract/support/pki",
		"github.com/kubernaut/gateway-contract/support/kubeconfig",
	}
	for _, dep := range strings.Fields(string(out)) {
		if !slices.Contains(allowed, dep) {
			t.Errorf("the launcher depends on %s, which is not the standard library", dep)
		}
	}
}
