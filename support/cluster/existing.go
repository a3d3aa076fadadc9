package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"
)

// existingProbeTimeout bounds the /version probe: an unreachable server must fail the run in
// seconds, not after client-go's default of no timeout at all.
const existingProbeTimeout = 10 * time.Second

// existingProvider attaches to a cluster somebody else runs. It owns nothing there, so its Stop
// deletes nothing: the suite's own namespaces are the harness's business.
type existingProvider struct {
	kubeconfig string // the file to read
	fromEnv    bool   // kubeconfig came from KUBECONFIG (for the hint in errors)
	context    string // E2E_KUBE_CONTEXT; empty means the file's current context
}

func newExisting(o Options) *existingProvider {
	p := &existingProvider{context: o.KubeContext}
	p.kubeconfig, p.fromEnv = o.kubeconfig()
	return p
}

func (p *existingProvider) Name() string { return NameExisting }

func (p *existingProvider) Start(ctx context.Context) (Cluster, error) {
	const who = "existing cluster"
	if _, err := os.Stat(p.kubeconfig); errors.Is(err, fs.ErrNotExist) {
		hint := "set KUBECONFIG or E2E_CLUSTER=local"
		if p.fromEnv {
			hint = "fix KUBECONFIG or set E2E_CLUSTER=local"
		}
		return nil, missing(nil, "%s: no kubeconfig at %s: %s", who, p.kubeconfig, hint)
	}
	// Loading rules, unlike LoadFromFile, resolve certificate paths relative to the file.
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: p.kubeconfig}
	raw, err := rules.Load()
	if err != nil {
		return nil, missing(err, "%s: cannot read kubeconfig %s: fix the file or point KUBECONFIG at another", who, p.kubeconfig)
	}
	ctxName := p.context
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	if _, ok := raw.Contexts[ctxName]; !ok || ctxName == "" {
		names := slices.Sorted(maps.Keys(raw.Contexts))
		return nil, missing(nil, "%s: no context %q in %s: set E2E_KUBE_CONTEXT to one of [%s]",
			who, ctxName, p.kubeconfig, strings.Join(names, " "))
	}
	cfg, err := clientcmd.NewNonInteractiveClientConfig(*raw, ctxName, &clientcmd.ConfigOverrides{}, rules).ClientConfig()
	if err != nil {
		return nil, missing(err, "%s: context %q in %s is unusable: fix the file or set E2E_KUBE_CONTEXT", who, ctxName, p.kubeconfig)
	}

	probe := *cfg
	probe.Timeout = existingProbeTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(&probe)
	if err != nil {
		return nil, fmt.Errorf("%s: discovery client for %s: %w", who, cfg.Host, err)
	}
	pctx, cancel := context.WithTimeout(ctx, existingProbeTimeout)
	defer cancel()
	// The same request as discovery's ServerVersion, which takes no context.
	if err := dc.RESTClient().Get().AbsPath("/version").Do(pctx).Error(); err != nil {
		return nil, missing(err, "%s: API server %s (context %q in %s) is not reachable: "+
			"start it, point KUBECONFIG or E2E_KUBE_CONTEXT at a running cluster, or set E2E_CLUSTER=local",
			who, cfg.Host, ctxName, p.kubeconfig)
	}
	return &started{name: NameExisting, cfg: cfg}, nil
}
