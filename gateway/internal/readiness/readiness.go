// Package readiness decides whether the gateway can do its work: the API server must serve the
// RemediationRequest resource (a gateway that answers ready before the CRD is installed would turn
// every signal into a 500), and the gateway's cache of RemediationRequests must have synced (All
// combines the two).
package readiness

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// Timeout bounds one discovery call, as docs/design.md requires for /readyz.
const Timeout = time.Second

// Discovery checks readiness with the discovery endpoint of kubernaut.ai/v1alpha1.
type Discovery struct {
	rest rest.Interface
}

// NewDiscovery builds a checker from the gateway's rest.Config.
func NewDiscovery(cfg *rest.Config) (*Discovery, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return &Discovery{rest: dc.RESTClient()}, nil
}

// Ready returns nil when discovery lists remediationrequests within Timeout. It uses the discovery
// client's REST client directly because the typed discovery methods take no context, and readiness
// must give up after one second.
func (d *Discovery) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	gv := v1alpha1.GroupVersion
	raw, err := d.rest.Get().AbsPath("/apis", gv.Group, gv.Version).Do(ctx).Raw()
	if err != nil {
		return fmt.Errorf("discover %s: %w", gv, err)
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(raw, &list); err != nil {
		return fmt.Errorf("decode discovery of %s: %w", gv, err)
	}
	for _, r := range list.APIResources {
		if r.Name == v1alpha1.ResourcePlural {
			return nil
		}
	}
	return fmt.Errorf("%s does not serve %s", gv, v1alpha1.ResourcePlural)
}

// Checker is one condition of readiness: nil when met.
type Checker interface {
	Ready(ctx context.Context) error
}

// All is ready when every checker is, asked in order; the first that is not gives the reason.
type All []Checker

// Ready returns the first checker's error, or nil.
func (a All) Ready(ctx context.Context) error {
	for _, c := range a {
		if err := c.Ready(ctx); err != nil {
			return err
		}
	}
	return nil
}
