package faultproxy

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/kubernaut/gateway-contract/support/pki"
)

// certValidity outlasts any run.
const certValidity = 7 * 24 * time.Hour

// servingCert makes a fresh CA and a serving certificate it signs for the given hosts (IP
// addresses or DNS names). The CA's PEM is what the gateway's kubeconfig trusts: the gateway then
// verifies TLS to the proxy exactly as it would to a real API server, rather than running with
// verification switched off.
func servingCert(hosts []string) (tls.Certificate, []byte, error) {
	ca, err := pki.NewCA("gateway-contract fault proxy CA", certValidity)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("faultproxy: %w", err)
	}
	pair, err := ca.IssueServing("gateway-contract fault proxy", hosts, certValidity)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("faultproxy: %w", err)
	}
	cert, err := pair.TLS()
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("faultproxy: %w", err)
	}
	return cert, ca.CertPEM(), nil
}
