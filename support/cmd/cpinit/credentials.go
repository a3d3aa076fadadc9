package main

import (
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kubernaut/gateway-contract/support/kubeconfig"
	"github.com/kubernaut/gateway-contract/support/pki"
)

// Validity of the launcher's certificates: the CA and client certificates outlast any container;
// the serving certificate is issued anew on every boot.
const (
	longValidity    = 10 * 365 * 24 * time.Hour
	servingValidity = 365 * 24 * time.Hour
)

// clientIdentities are the client certificates the launcher issues once: file name, user, group.
var clientIdentities = []struct{ file, cn, org string }{
	{"admin", "kubernetes-admin", "system:masters"},
	// All-powerful, like the local provider's controller manager, which uses the
	// administrator's credentials: see --use-service-account-credentials.
	{"controller-manager", "system:kube-controller-manager", "system:masters"},
}

// ensureCredentials makes, once, the CA, the service-account signing key and the client
// certificates under dir, and issues a serving certificate for hosts on every call, because the
// container's addresses may have changed since the last boot.
func ensureCredentials(dir string, hosts []string) error {
	ca, err := ensureCA(dir)
	if err != nil {
		return err
	}
	if err := ensureServiceAccountKey(dir); err != nil {
		return err
	}
	for _, id := range clientIdentities {
		if exists(filepath.Join(dir, id.file+".crt")) {
			continue
		}
		pair, err := ca.IssueClient(id.cn, []string{id.org}, longValidity)
		if err != nil {
			return err
		}
		if err := pair.Write(filepath.Join(dir, id.file+".crt"), filepath.Join(dir, id.file+".key")); err != nil {
			return err
		}
	}
	pair, err := ca.IssueServing("kube-apiserver", hosts, servingValidity)
	if err != nil {
		return err
	}
	return pair.Write(filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "apiserver.key"))
}

func ensureCA(dir string) (*pki.CA, error) {
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if exists(certPath) {
		return pki.LoadCA(certPath, keyPath)
	}
	ca, err := pki.NewCA("gateway-contract-e2e-ca", longValidity)
	if err != nil {
		return nil, err
	}
	return ca, ca.Write(certPath, keyPath)
}

// ensureServiceAccountKey makes sa.key once and writes its public half, sa.pub, on every boot.
func ensureServiceAccountKey(dir string) error {
	keyPath := filepath.Join(dir, "sa.key")
	if !exists(keyPath) {
		key, err := pki.NewKey()
		if err != nil {
			return err
		}
		keyPEM, err := pki.KeyPEM(key)
		if err != nil {
			return err
		}
		if err := pki.WriteFile(keyPath, keyPEM); err != nil {
			return err
		}
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	key, err := pki.ParseKeyPEM(keyPEM)
	if err != nil {
		return err
	}
	pub, err := pki.PublicKeyPEM(key)
	if err != nil {
		return err
	}
	return pki.WriteFile(filepath.Join(dir, "sa.pub"), pub)
}

// servingHosts are the names and addresses the API server's certificate must be valid for: the
// loopback, the in-cluster names and the kubernetes Service's address, the hostname, and the
// container's addresses.
func servingHosts(hostname, firstServiceIP string, ips []net.IP) []string {
	hosts := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if hostname != "" {
		hosts = append(hosts, hostname)
	}
	hosts = append(hosts, "127.0.0.1", net.IPv6loopback.String(), firstServiceIP)
	for _, ip := range ips {
		hosts = append(hosts, ip.String())
	}
	return hosts
}

// writeKubeconfig writes a one-context kubeconfig with the client certificate dir/<name>.crt.
func writeKubeconfig(path, server string, caPEM []byte, dir, name string) error {
	cert, err := os.ReadFile(filepath.Join(dir, name+".crt"))
	if err != nil {
		return err
	}
	key, err := os.ReadFile(filepath.Join(dir, name+".key"))
	if err != nil {
		return err
	}
	return kubeconfig.Write(path, kubeconfig.Config{
		Context: "controlplane", User: name, Server: server, CAData: caPEM, CertData: cert, KeyData: key,
	})
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
