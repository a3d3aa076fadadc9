package cluster

import (
	"context"
	"sync"

	"k8s.io/client-go/rest"
)

// started is the Cluster every provider hands back: a REST config plus the one function that
// releases what the provider created. The sync.Once makes Stop safe to call twice, as Cluster
// promises, whatever the release function does.
type started struct {
	name string
	cfg  *rest.Config
	stop func(ctx context.Context) error // nil when there is nothing to release

	once sync.Once
	err  error
}

func (c *started) Name() string { return c.name }

// RESTConfig returns a copy, so that a caller narrowing its credentials cannot change ours.
func (c *started) RESTConfig() *rest.Config { return rest.CopyConfig(c.cfg) }

func (c *started) Stop(ctx context.Context) error {
	c.once.Do(func() {
		if c.stop != nil {
			c.err = c.stop(ctx)
		}
	})
	return c.err
}
