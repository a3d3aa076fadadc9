package pki

import (
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestServingCertificateVerifiesForItsHosts(t *testing.T) {
	ca, err := NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.IssueServing("gateway", []string{"127.0.0.1", "gateway.example", "::1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ParseCertPEM(pair.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca.CertPEM()) {
		t.Fatal("the CA's PEM holds no certificate")
	}
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1", true},
		{"::1", true},
		{"gateway.example", true},
		{"other.example", false},
		{"127.0.0.2", false}, // a loopback address the certificate does not name
	}
	for _, tc := range tests {
		_, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if (err == nil) != tc.ok {
			t.Errorf("verify for %s: err = %v, want ok=%t", tc.host, err, tc.ok)
		}
	}
	if _, err := pair.TLS(); err != nil {
		t.Errorf("the pair does not load as a TLS certificate: %v", err)
	}
}

func TestClientCertificateNamesUserAndGroups(t *testing.T) {
	ca, err := NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := ca.IssueClient("admin", []string{"system:masters"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ParseCertPEM(pair.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.Subject.CommonName != "admin" || !reflect.DeepEqual(leaf.Subject.Organization, []string{"system:masters"}) {
		t.Errorf("subject = %v", leaf.Subject)
	}
	if err := leaf.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("not signed by the CA: %v", err)
	}
	if !reflect.DeepEqual(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Errorf("ext key usage = %v", leaf.ExtKeyUsage)
	}
}

func TestWriteServingAndLoadCA(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if err := ca.Write(certPath, keyPath); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(certPath, keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.Cert.Equal(ca.Cert) || !loaded.Key.Equal(ca.Key) {
		t.Fatal("LoadCA does not give back what Write stored")
	}
	if err := WriteServing(dir, loaded, "gateway", []string{"127.0.0.1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ServingCertFile, ServingKeyFile, "ca.key"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, info.Mode().Perm())
		}
	}
	if _, err := LoadCA(filepath.Join(dir, "missing.crt"), keyPath); err == nil {
		t.Error("LoadCA of a missing file: nil error")
	}
}

func TestSplitHosts(t *testing.T) {
	tests := []struct {
		hosts   []string
		wantIPs []net.IP
		wantDNS []string
	}{
		{nil, nil, nil},
		{[]string{"127.0.0.1", "localhost", ""}, []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"}},
		{[]string{"::1", "a.b"}, []net.IP{net.ParseIP("::1")}, []string{"a.b"}},
	}
	for _, tc := range tests {
		ips, dns := SplitHosts(tc.hosts)
		if !reflect.DeepEqual(ips, tc.wantIPs) || !reflect.DeepEqual(dns, tc.wantDNS) {
			t.Errorf("SplitHosts(%q) = %v, %v; want %v, %v", tc.hosts, ips, dns, tc.wantIPs, tc.wantDNS)
		}
	}
}

// WriteProjected replaces a pair as a kubelet projects a TLS Secret: readable by any user, in a
// directory any user may enter, and a second write replaces the first.
func TestWriteProjectedReplaces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	ca, err := NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var last Pair
	for range 2 {
		if last, err = ca.IssueServing("gateway", []string{"127.0.0.1"}, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := last.WriteProjected(dir); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range map[string][]byte{ServingCertFile: last.CertPEM, ServingKeyFile: last.KeyPEM} {
		p := filepath.Join(dir, name)
		info, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", name, info.Mode().Perm())
		}
		if got, _ := os.ReadFile(p); string(got) != string(want) {
			t.Errorf("%s does not hold the last pair written", name)
		}
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("the directory: %v, %v; want mode 0755", info, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
