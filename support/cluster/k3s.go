package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/k3s"
	"github.com/testcontainers/testcontainers-go/wait"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubernaut/gateway-contract/support/runid"
)

// DefaultK3sImage is the k3s image used when E2E_K3S_IMAGE is empty: its Kubernetes minor matches
// the client-go the suite is built with.
const DefaultK3sImage = "rancher/k3s:v1.36.3-k3s1"

// Bounds of the k3s provider. A k3s server on a busy two-core machine is ready in well under a
// minute; the margins are for slow CI hosts, not for pulls (there are none).
const (
	k3sStartTimeout = 4 * time.Minute
	k3sStopTimeout  = time.Minute
)

// k3sReadyLog is the k3s server's log line that the start waits for: its node controller has
// synced, so the API server serves and the node is registered.
const k3sReadyLog = ".*Node controller sync successful.*"

// k3sProvider runs k3s in one privileged container through testcontainers-go.
type k3sProvider struct {
	image        string
	host         string // DOCKER_HOST as the checks see it
	dial         dockerDialer
	startTimeout time.Duration
}

func newK3s(o Options) *k3sProvider {
	img := o.K3sImage
	if img == "" {
		img = DefaultK3sImage
	}
	return &k3sProvider{image: img, host: o.dockerHost(), dial: dialDocker, startTimeout: k3sStartTimeout}
}

func (p *k3sProvider) Name() string { return NameK3s }

func (p *k3sProvider) Start(ctx context.Context) (Cluster, error) {
	const who = "k3s cluster"
	ctx, cancel := context.WithTimeout(ctx, p.startTimeout)
	defer cancel()

	if err := checkDocker(ctx, p.dial, p.host, who, p.image, "E2E_K3S_IMAGE"); err != nil {
		return nil, err
	}
	if err := disableRyuk(who); err != nil {
		return nil, err
	}
	if removed, err := RemoveLeftoverContainers(ctx, ""); err != nil {
		fmt.Fprintf(os.Stderr, "%s: removing leftovers of earlier runs: %v\n", who, err)
	} else if len(removed) > 0 {
		fmt.Fprintf(os.Stderr, "%s: removed %d leftovers of crashed runs: %s\n", who, len(removed), strings.Join(removed, " "))
	}

	ctr, err := k3s.Run(ctx, p.image,
		// Labelled like the container provider's, so that a crashed run's k3s is swept too.
		testcontainers.WithLabels(suiteLabels(runid.New(), "k3s")),
		// The module waits for the same line with a 60s default deadline; widen it to ours.
		testcontainers.WithWaitStrategyAndDeadline(p.startTimeout,
			wait.ForLog(k3sReadyLog).AsRegexp()),
	)
	stop := func(ctx context.Context) error {
		if ctr == nil {
			return nil
		}
		sctx, cancel := context.WithTimeout(ctx, k3sStopTimeout)
		defer cancel()
		if err := ctr.Terminate(sctx); err != nil {
			return fmt.Errorf("k3s cluster: terminate container %s: %w", ctr.GetContainerID(), err)
		}
		return nil
	}
	fail := func(err error) (Cluster, error) {
		// Start owns the container until it returns a Cluster; give it back on any failure.
		return nil, errors.Join(err, stop(context.WithoutCancel(ctx)))
	}
	if err != nil {
		if ctx.Err() != nil {
			return fail(fmt.Errorf("%s: start %s: waited %s for the k3s server's log line %q (its node controller in sync: the cluster serves), which did not come: %w",
				who, p.image, p.startTimeout, k3sReadyLog, err))
		}
		return fail(fmt.Errorf("%s: start %s: %w", who, p.image, err))
	}
	kubeconfig, err := ctr.GetKubeConfig(ctx)
	if err != nil {
		return fail(fmt.Errorf("%s: kubeconfig from container %s: %w", who, ctr.GetContainerID(), err))
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return fail(fmt.Errorf("%s: parse kubeconfig from container %s: %w", who, ctr.GetContainerID(), err))
	}
	return &started{name: NameK3s, cfg: cfg, stop: stop}, nil
}
