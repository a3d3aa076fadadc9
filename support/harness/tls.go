package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/pki"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// Bearer tokens never cross the network in clear, in the suite either: every gateway the suite
// launches serves HTTPS with a certificate of its own, issued by one CA of the run, and every
// client of a gateway (the steps, the readiness probes, the soak's scraper, Alertmanager) trusts
// that CA and nothing else of the kind.

// caValidity and servingValidity outlast any run.
const (
	caValidity      = 7 * 24 * time.Hour
	servingValidity = 2 * 24 * time.Hour
)

// servingHosts are the addresses the suite reaches its gateways at: they share the host's
// network, as a process or as a container.
var servingHosts = []string{"127.0.0.1", "localhost"}

// setupGatewayCA makes the run's gateway CA and the client that trusts it. In contract mode the
// deployed gateway's certificate is not the suite's: the client trusts E2E_GATEWAY_CA, or the
// system's roots when it is empty.
func (h *Harness) setupGatewayCA(context.Context, *lifecycle.Stack) error {
	if h.Settings.ContractMode() {
		if path := h.Settings.GatewayCA; path != "" {
			if !filepath.IsAbs(path) { // from the project root, as E2E_REPORT_DIR: go test runs in e2e/
				root, err := repo.Root()
				if err != nil {
					return err
				}
				path = filepath.Join(root, path)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return fmt.Errorf("E2E_GATEWAY_CA: %w", err)
			}
			h.caPEM = data
		}
	} else {
		ca, err := pki.NewCA("gateway-contract e2e gateway CA", caValidity)
		if err != nil {
			return err
		}
		h.ca, h.caPEM = ca, ca.CertPEM()
	}
	client, err := clientTrusting(h.caPEM)
	if err != nil {
		return fmt.Errorf("the gateway's CA: %w", err)
	}
	h.httpClient = client
	return nil
}

// clientTrusting is an HTTP client like http.DefaultClient whose TLS trusts caPEM (TLS 1.2 or
// later); with no caPEM, the system's roots.
func clientTrusting(caPEM []byte) (*http.Client, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("no PEM certificate in it")
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: t}, nil
}

// GatewayCA is the PEM certificate of the CA that issued the gateways' serving certificates: the
// run's own, or E2E_GATEWAY_CA's in contract mode (nil there when it is unset).
func (h *Harness) GatewayCA() []byte { return append([]byte(nil), h.caPEM...) }

// HTTPClient is the client of the run's gateways: it trusts GatewayCA. Every request the suite
// makes to a gateway goes through it.
func (h *Harness) HTTPClient() *http.Client {
	if h.httpClient == nil {
		return http.DefaultClient
	}
	return h.httpClient
}

// IssueGatewayCertificate issues a new serving certificate from the run's CA for the addresses
// the suite reaches its gateways at, and any further hosts: what a gateway's certificate files
// are replaced with when a scenario rotates them.
func (h *Harness) IssueGatewayCertificate(commonName string, hosts ...string) (pki.Pair, error) {
	if h.ca == nil {
		return pki.Pair{}, errors.New("the run has no gateway CA: a deployed gateway's certificate (E2E_GATEWAY_URL) is not the suite's to issue")
	}
	return h.ca.IssueServing(commonName, append(append([]string{}, servingHosts...), hosts...), servingValidity)
}

// writeGatewayCertificate issues a gateway's serving certificate into a directory of its own under
// the work directory, as a kubelet projects a TLS Secret (tls.crt, tls.key), and registers its
// removal.
func (h *Harness) writeGatewayCertificate(name string, undo *lifecycle.Stack) (string, error) {
	pair, err := h.IssueGatewayCertificate("kubernaut-gateway " + name)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(h.workDir, fmt.Sprintf("tls-%s-%d", containerSafe(name), launches.Add(1)))
	undo.Push("the serving certificate "+dir, func(context.Context) error { return os.RemoveAll(dir) })
	if err := pair.WriteProjected(dir); err != nil {
		return "", fmt.Errorf("the gateway %s's serving certificate: %w", name, err)
	}
	return dir, nil
}

// WriteGatewayCertificate issues a serving certificate from the run's CA into dir (tls.crt,
// tls.key) and returns the flags that make a gateway process serve it: for a gateway a command
// launches itself (loadbench's direct one), which the suite's clients then trust.
func (h *Harness) WriteGatewayCertificate(dir string) ([]string, error) {
	pair, err := h.IssueGatewayCertificate("kubernaut-gateway")
	if err != nil {
		return nil, err
	}
	if err := pair.WriteProjected(dir); err != nil {
		return nil, err
	}
	return tlsArgs(dir), nil
}

// tlsArgs are the flags that make a host process serve the certificate in dir.
func tlsArgs(dir string) []string {
	return []string{
		"--tls-cert-file=" + filepath.Join(dir, pki.ServingCertFile),
		"--tls-private-key-file=" + filepath.Join(dir, pki.ServingKeyFile),
	}
}
