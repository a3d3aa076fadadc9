package steps

import (
	"context"
	"net/http"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/support/alertmanager"
	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/pki"
	"github.com/kubernaut/gateway-contract/support/poll"
	"github.com/kubernaut/gateway-contract/support/soak"
)

// The steps drive five things, each through a small surface, and never reach into the harness
// for them; this file is the only one that holds it (TestDriversAreTheOnlyWayIn keeps it so):
//
//   - the run (runDriver): its bounds and settings, its identities, its namespaces, and what it
//     starts for a scenario of its own: a gateway, a control plane, an Alertmanager, a soak;
//   - the gateway under test (gatewayDriver): where to send, its log, its lifecycle, and the
//     faults on its path to the API;
//   - those faults (faultDriver): rules, the record of what the API was asked, an outage;
//   - the API server of a control plane of the scenario's own (apiServerDriver): freeze, thaw,
//     restart, disconnect, reconnect;
//   - the cluster the gateway writes to (clusterView): the clients and the default sender's token.
//
// A gateway the suite launched (launched) and a deployed one it only sends to (deployed,
// contract mode) each implement gatewayDriver, so contract mode is a type, not nil checks through
// the steps: what a deployed gateway cannot do answers harness.ErrContractMode in one place.
// The cluster is a value rather than an interface because it is a real API server in every mode;
// a scenario with a control plane of its own swaps in that control plane's view. No driver hands
// out a harness type, so a step cannot get past them.

// runDriver is the run that the scenarios share: exactly what the steps need of it.
type runDriver interface {
	// Bounds are the run's timeouts.
	Bounds() poll.Bounds
	// FallbackNamespace is where the gateways write the signals that have no namespace to go to.
	FallbackNamespace() string
	// AuthzCacheTTL is how long a launched gateway may go on allowing a sender that lost its
	// permission (E2E_AUTHZ_CACHE_TTL).
	AuthzCacheTTL() time.Duration
	// KeepFailed keeps the namespaces of a failed scenario (E2E_KEEP_FAILED).
	KeepFailed() bool
	// Gateway and Cluster are the run's shared gateway and the cluster it writes to.
	Gateway() gatewayDriver
	Cluster() clusterView
	// GatewayIdentity is the gateway's ServiceAccount; its token is empty in contract mode.
	GatewayIdentity() gatewayproc.Identity
	// SenderToken is the default sender's token, ScraperToken the metrics scraper's.
	SenderToken() string
	ScraperToken() string
	// NamespaceName is the run's name for a scenario's namespace; MissingNamespace one that is
	// guaranteed not to exist.
	NamespaceName(scenario string) string
	MissingNamespace(scenario string) string
	// CreateNamespace makes a namespace of a scenario, with the run's labels; DeleteNamespace
	// removes it and what is in it.
	CreateNamespace(ctx context.Context, name, feature, scenario string) error
	DeleteNamespace(ctx context.Context, name string) error
	// StartGateway launches a dedicated gateway behind a fault proxy of its own, configured by
	// premises; stop stops it.
	StartGateway(ctx context.Context, name string, premises ...gatewayconf.Premise) (gw gatewayDriver, stop func() error, err error)
	// StartControlPlane starts a control plane of the scenario's own, in a container, with a
	// gateway of its own on it.
	StartControlPlane(ctx context.Context, name string, premises ...gatewayconf.Premise) (*controlPlane, error)
	// StartAlertmanager starts a real Alertmanager that sends with token, as o says; what it
	// makes is undone through undo.
	StartAlertmanager(ctx context.Context, token string, o alertmanager.Options, undo *lifecycle.Stack) (*alertmanager.Alertmanager, error)
	// IssueGatewayCertificate issues a serving certificate from the CA the gateways' clients trust.
	IssueGatewayCertificate(commonName string) (pki.Pair, error)
	// AsToken reaches the run's API server with token's credentials only; Admin with the
	// administrator's, as a user applies manifests with kubectl.
	AsToken(token string) *rest.Config
	Admin() *rest.Config
	// Soak runs the chaos soak (support/soak) on the run.
	Soak(ctx context.Context, cfg soak.Config) (*soak.Report, error)
	// ReportPath is where a report file of the run goes, beside its other reports.
	ReportPath(name string) (string, error)
}

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

// apiServerDriver is what the steps do to the API server of a control plane of the scenario's
// own; each fault comes back with the evidence, from the container, that it took effect.
type apiServerDriver interface {
	Freeze(context.Context) (cluster.FaultEvidence, error)
	Thaw(context.Context) (cluster.FaultEvidence, error)
	Restart(context.Context) (cluster.FaultEvidence, error)
	Disconnect(context.Context) (cluster.FaultEvidence, error)
	Reconnect(context.Context) (cluster.FaultEvidence, error)
}

// clusterView is the cluster the scenario's gateway writes to.
type clusterView struct {
	kube   kubernetes.Interface
	client ctrlclient.Client
	// senderToken is the default sender's: a ServiceAccount bound to kubernaut-signal-sender there.
	senderToken string
}

// controlPlane is a control plane of the scenario's own, in a container, and the gateway on it.
type controlPlane struct {
	gw        gatewayDriver
	on        clusterView
	apiServer apiServerDriver
	stop      func(context.Context) error // releases all of it
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

// harnessRun is the runDriver of a run that support/harness set up.
type harnessRun struct{ h *harness.Harness }

// newRun is the driver of the run h: the one way from the steps to the harness.
func newRun(h *harness.Harness) runDriver { return harnessRun{h: h} }

func (r harnessRun) Bounds() poll.Bounds                   { return r.h.Settings.Timeouts }
func (r harnessRun) FallbackNamespace() string             { return r.h.Settings.FallbackNamespace }
func (r harnessRun) AuthzCacheTTL() time.Duration          { return r.h.Settings.AuthzCacheTTL }
func (r harnessRun) KeepFailed() bool                      { return r.h.Settings.KeepFailed }
func (r harnessRun) GatewayIdentity() gatewayproc.Identity { return *r.h.Identity }
func (r harnessRun) SenderToken() string                   { return r.h.Sender.Token }
func (r harnessRun) ScraperToken() string                  { return r.h.Scraper.Token }
func (r harnessRun) NamespaceName(scenario string) string  { return r.h.Namespaces.Name(scenario) }
func (r harnessRun) MissingNamespace(scenario string) string {
	return r.h.Namespaces.Missing(scenario)
}
func (r harnessRun) AsToken(token string) *rest.Config { return r.h.AsToken(token) }
func (r harnessRun) Admin() *rest.Config               { return r.h.Admin() }
func (r harnessRun) ReportPath(name string) (string, error) {
	return r.h.ReportPath(name)
}

func (r harnessRun) CreateNamespace(ctx context.Context, name, feature, scenario string) error {
	return r.h.CreateNamespace(ctx, name, feature, scenario)
}

func (r harnessRun) DeleteNamespace(ctx context.Context, name string) error {
	return r.h.DeleteNamespace(ctx, name)
}

func (r harnessRun) IssueGatewayCertificate(commonName string) (pki.Pair, error) {
	return r.h.IssueGatewayCertificate(commonName)
}

func (r harnessRun) StartAlertmanager(ctx context.Context, token string, o alertmanager.Options, undo *lifecycle.Stack) (*alertmanager.Alertmanager, error) {
	return r.h.StartAlertmanager(ctx, token, o, undo)
}

func (r harnessRun) Soak(ctx context.Context, cfg soak.Config) (*soak.Report, error) {
	return soak.Run(ctx, r.h, cfg)
}

// Gateway is the run's shared gateway: launched, or deployed in contract mode.
func (r harnessRun) Gateway() gatewayDriver {
	if r.h.Gateway == nil {
		return deployed{url: r.h.GatewayURL, config: r.h.DeployedConfig, client: r.h.HTTPClient()}
	}
	return launched{g: r.h.Gateway, client: r.h.HTTPClient()}
}

// Cluster is the run's cluster.
func (r harnessRun) Cluster() clusterView {
	return clusterView{kube: r.h.Kube, client: r.h.Client, senderToken: r.h.Sender.Token}
}

func (r harnessRun) StartGateway(ctx context.Context, name string, premises ...gatewayconf.Premise) (gatewayDriver, func() error, error) {
	g, err := r.h.StartGateway(ctx, name, premises...)
	if err != nil {
		return nil, nil, err
	}
	return launched{g: g, client: r.h.HTTPClient()}, g.Stop, nil
}

func (r harnessRun) StartControlPlane(ctx context.Context, name string, premises ...gatewayconf.Premise) (*controlPlane, error) {
	d, err := r.h.StartDedicated(ctx, name, premises...)
	if err != nil {
		return nil, err
	}
	return &controlPlane{
		gw:        launched{g: d.Gateway, client: r.h.HTTPClient()},
		on:        clusterView{kube: d.Kube, client: d.Client, senderToken: d.Sender.Token},
		apiServer: d.Cluster,
		stop:      d.Stop,
	}, nil
}
