package steps

import (
	"context"
	"net/http"
	"syscall"

	"k8s.io/client-go/kubernetes"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/harness"
)

// The steps drive three things, each through a small surface, and never reach into the harness
// for them:
//
//   - the gateway under test (gatewayDriver): where to send, its log, its lifecycle, and the
//     faults on its path to the API;
//   - those faults (faultDriver): rules, the record of what the API was asked, an outage;
//   - the cluster it writes to (clusterView): the clients and the default sender's token.
//
// A gateway the suite launched (launched) and a deployed one it only sends to (deployed,
// contract mode) each implement gatewayDriver, so contract mode is a type, not nil checks through
// the steps: what a deployed gateway cannot do answers harness.ErrContractMode in one place.
// The cluster is a value rather than an interface because it is a real API server in every mode;
// a scenario with a control plane of its own swaps in that control plane's view.

// gatewayDriver is the gateway a scenario sends to.
type gatewayDriver interface {
	URL() string
	// HTTPClient is how the steps reach it: a client that trusts the CA of its serving
	// certificate (the run's CA, or E2E_GATEWAY_CA for a deployed gateway).
	HTTPClient() *http.Client
	// CertDir is the directory of the gateway's serving certificate (tls.crt, tls.key), which
	// it reloads when they change; a deployed gateway's is not the suite's.
	CertDir() (string, error)
	// Config is the gateway's configuration, whose bounds the steps assert.
	Config() gatewayconf.Config
	// Credentials are the bearer tokens the gateway was given for the API server: one for a
	// process, one per container (each is bound to the Pod as a kubelet's would be).
	Credentials() ([]string, error)
	// LogLines are the gateway's log lines that contain filter; a deployed gateway's log is not
	// the suite's to read, and its one line says so.
	LogLines(filter string) []string
	// Faults is the fault proxy on the gateway's only path to the API server.
	Faults() (faultDriver, error)
	// Restart replaces the process on the same address: SIGTERM, or SIGKILL when kill.
	Restart(ctx context.Context, kill bool) error
	// Terminate sends SIGTERM; Exited and ExitErr report the end of the process.
	Terminate() error
	Exited() <-chan struct{}
	ExitErr() error
}

// faultDriver is what the steps do to the gateway's path to the API server.
type faultDriver interface {
	AddRule(faultproxy.Rule) (*faultproxy.RuleHandle, error)
	Requests(namespace string) []faultproxy.Record
	SetOutage(unreachable bool) error
}

// clusterView is the cluster the scenario's gateway writes to.
type clusterView struct {
	kube   kubernetes.Interface
	client ctrlclient.Client
	// senderToken is the default sender's: a ServiceAccount bound to kubernaut-signal-sender there.
	senderToken string
}

// launched is a gateway the suite started, behind its fault proxy.
type launched struct {
	g      *harness.Gateway
	client *http.Client
}

func (l launched) HTTPClient() *http.Client                     { return orDefault(l.client) }
func (l launched) CertDir() (string, error)                     { return l.g.CertDir(), nil }
func (l launched) Config() gatewayconf.Config                   { return l.g.Config }
func (l launched) Credentials() ([]string, error)               { return l.g.Credentials(), nil }
func (l launched) URL() string                                  { return l.g.Process.URL() }
func (l launched) LogLines(filter string) []string              { return l.g.LogLines(filter) }
func (l launched) Faults() (faultDriver, error)                 { return l.g.Proxy, nil }
func (l launched) Restart(ctx context.Context, kill bool) error { return l.g.Restart(ctx, kill) }
func (l launched) Terminate() error                             { return l.g.Process.Signal(syscall.SIGTERM) }
func (l launched) Exited() <-chan struct{}                      { return l.g.Process.Exited() }
func (l launched) ExitErr() error                               { return l.g.Process.ExitErr() }

// deployed is a gateway the suite did not launch (E2E_GATEWAY_URL): it can only be sent to.
type deployed struct {
	url    string
	config gatewayconf.Config
	client *http.Client
}

func (d deployed) HTTPClient() *http.Client { return orDefault(d.client) }

// orDefault is c, or http.DefaultClient for a driver made without one (the unit tests').
func orDefault(c *http.Client) *http.Client {
	if c == nil {
		return http.DefaultClient
	}
	return c
}

func (d deployed) Config() gatewayconf.Config   { return d.config }
func (deployed) Credentials() ([]string, error) { return nil, harness.ErrContractMode }
func (deployed) CertDir() (string, error)       { return "", harness.ErrContractMode }
func (d deployed) URL() string                  { return d.url }
func (deployed) LogLines(string) []string {
	return []string{"(a deployed gateway, E2E_GATEWAY_URL: its log is where it is deployed)"}
}
func (deployed) Faults() (faultDriver, error)        { return nil, harness.ErrContractMode }
func (deployed) Restart(context.Context, bool) error { return harness.ErrContractMode }
func (deployed) Terminate() error                    { return harness.ErrContractMode }
func (deployed) Exited() <-chan struct{}             { return nil }
func (deployed) ExitErr() error                      { return harness.ErrContractMode }

// runGateway is the run's shared gateway: launched, or deployed in contract mode.
func runGateway(h *harness.Harness) gatewayDriver {
	if h.Gateway == nil {
		return deployed{url: h.GatewayURL, config: h.DeployedConfig, client: h.HTTPClient()}
	}
	return launched{g: h.Gateway, client: h.HTTPClient()}
}

// runCluster is the run's cluster; dedicatedCluster a scenario's own control plane.
func runCluster(h *harness.Harness) clusterView {
	return clusterView{kube: h.Kube, client: h.Client, senderToken: h.Sender.Token}
}

func dedicatedCluster(d *harness.Dedicated) clusterView {
	return clusterView{kube: d.Kube, client: d.Client, senderToken: d.Sender.Token}
}
