package harness

import (
	"context"
	"fmt"
	"time"

	"github.com/kubernaut/gateway-contract/support/image"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
)

// buildImage builds the gateway's image from this checkout, as `make image` does, and loads it
// into the local Docker engine, for the container runtime. Without an engine it fails in one line
// that says so.
func (h *Harness) buildImage(ctx context.Context, undo *lifecycle.Stack) error {
	begin := time.Now()
	docker, err := image.Engine(ctx)
	if err != nil {
		return fmt.Errorf("E2E_GATEWAY_RUNTIME=container runs the gateway's image in a local Docker engine: %w", err)
	}
	h.docker = docker
	undo.Push("the Docker client", func(context.Context) error { return docker.Close() })
	gw, err := image.Build(ctx, image.Options{})
	if err != nil {
		return err
	}
	if err := image.Load(ctx, docker, gw.Image, gw.Tag); err != nil {
		return err
	}
	h.image, h.built = gw.Tag, gw.Image
	h.Timings.GatewayBuild = time.Since(begin)
	fmt.Fprintf(h.log, "harness: gateway image %s (%s) built and loaded in %s\n", gw.Tag, gw.Digest, h.Timings.GatewayBuild.Round(time.Millisecond))
	return nil
}
