// Package kubeclient builds the gateway's Kubernetes clients from one rest.Config, with the
// transport wrapper that leaves all retrying to kuberetry and a static REST mapping, so that the
// client makes no API call the retry policy does not see (no lazy discovery on first use).
package kubeclient

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
)

// UserAgent identifies the gateway in API server logs and audit events.
const UserAgent = "kubernaut-gateway"

// RESTConfig loads the kubeconfig file, or the in-cluster config when the path is empty, and applies
// the client-go rate limits and kuberetry.WrapTransport. qps 0 (the gateway's default) switches
// client-go's rate limiter off: the API server protects itself with API Priority and Fairness,
// whose 429 answers the gateway honours. burst 0 means twice qps.
func RESTConfig(kubeconfig string, qps float32, burst int) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("load kubernetes config (kubeconfig %q): %w", kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = RateLimits(qps, burst)
	cfg.UserAgent = UserAgent
	cfg.Wrap(kuberetry.WrapTransport)
	return cfg, nil
}

// RateLimits turns --kube-qps and --kube-burst into rest.Config's QPS and Burst: qps 0 is no
// client-side limit (a negative QPS for client-go), burst 0 is twice qps (at least 1).
func RateLimits(qps float32, burst int) (float32, int) {
	if qps <= 0 {
		return -1, 0
	}
	if burst <= 0 {
		burst = max(1, int(2*qps))
	}
	return qps, burst
}

// Scheme returns a scheme with the v1alpha1 types.
func Scheme() (*runtime.Scheme, error) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("register v1alpha1: %w", err)
	}
	return scheme, nil
}

// RESTMapper maps RemediationRequest to its namespaced resource without asking discovery.
func RESTMapper() meta.RESTMapper {
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{v1alpha1.GroupVersion})
	mapper.Add(v1alpha1.GroupVersion.WithKind(v1alpha1.Kind), meta.RESTScopeNamespace)
	return mapper
}

// New returns a controller-runtime client for the gateway's types; it can watch, for the cache.
func New(cfg *rest.Config) (client.WithWatch, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme, Mapper: RESTMapper()})
	if err != nil {
		return nil, fmt.Errorf("create kubernetes client: %w", err)
	}
	return c, nil
}
