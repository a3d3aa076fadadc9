// Package cluster gives the suite a Kubernetes API without telling it which kind of cluster
// is behind it: the embedded control plane, an existing kubeconfig, a k3s container or kind.
package cluster

import (
	"context"

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

// Provider starts (or attaches to) a cluster. Start fails at once, in one line that says what is
// missing and how to get it, when a prerequisite is absent.
type Provider interface {
	Name() string
	Start(ctx context.Context) (Cluster, error)
}
