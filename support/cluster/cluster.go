// Package cluster gives the suite a Kubernetes API without telling it which kind of cluster
// is behind it: the embedded control plane, an existing kubeconfig, a k3s container or kind.
package cluster

import (
	"context"
	"time"

	"k8s.io/client-go/rest"
)

// Cluster is a running Kubernetes API that the suite may use for one run.
type Cluster interface {
	// Name is the provider's name, for logs and reports.
	Name() string
	// RESTConfig holds administrator credentials; the harness derives narrower ones from it.
	RESTConfig() *rest.Config
	// Stop releases what the provider created, and nothing else. It is safe to call twice.
	Stop(ctx context.Context) error
}

// The optional capabilities of a Cluster, named so that a provider states what it has and the
// compiler holds it to it (the checks below): the harness asks for them with a type assertion.

// StartupReporter is a cluster that knows how long its control plane took to start.
type StartupReporter interface {
	StartupDuration() time.Duration
}

// ControllerReporter is a cluster that knows whether a kube-controller-manager runs (namespace
// deletion, ReplicaSets); a cluster without this capability is assumed to run one.
type ControllerReporter interface {
	Controllers() bool
}

// ContainerFaults is a cluster whose API server the suite can freeze, restart and cut off the
// network: a control plane in a container of the suite's own.
type ContainerFaults interface {
	Freeze(ctx context.Context) (FaultEvidence, error)
	Thaw(ctx context.Context) (FaultEvidence, error)
	Restart(ctx context.Context) (FaultEvidence, error)
	Disconnect(ctx context.Context) (FaultEvidence, error)
	Reconnect(ctx context.Context) (FaultEvidence, error)
}

// ImageLoader is a cluster whose nodes' container runtime takes an image archive (a docker-save
// tarball), so that real Pods run an image no registry holds: kind's `load image-archive`.
type ImageLoader interface {
	LoadImageArchive(ctx context.Context, path string) error
}

var (
	_ ImageLoader        = (*kindCluster)(nil)
	_ StartupReporter    = (*ContainerCluster)(nil)
	_ ContainerFaults    = (*ContainerCluster)(nil)
	_ StartupReporter    = (*localCluster)(nil)
	_ ControllerReporter = (*localCluster)(nil)
)

// Provider starts (or attaches to) a cluster. Start fails at once, in one line that says what is
// missing and how to get it, when a prerequisite is absent.
type Provider interface {
	Name() string
	Start(ctx context.Context) (Cluster, error)
}
