package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/support"
	"sigs.k8s.io/e2e-framework/support/kind"

	"github.com/kubernaut/gateway-contract/support/runid"
)

// DefaultKindImage is the node image used when E2E_KIND_IMAGE is empty: Kubernetes v1.36, the
// minor of the client-go the suite is built with, and the default node of KindVersion.
const DefaultKindImage = "kindest/node:v1.36.1"

// KindVersion is the kind release the error messages tell users to install: the newest one whose
// default node image is Kubernetes v1.36.
const KindVersion = "v0.32.0"

// Bounds of the kind provider: creating a one-node cluster from a local image takes about a
// minute; deleting it, seconds.
const (
	kindStartTimeout = 5 * time.Minute
	kindStopTimeout  = 2 * time.Minute
	kindCreateGrace  = 30 * time.Second
)

// kindProvider creates a throwaway kind cluster through e2e-framework's kind support, and deletes
// it on Stop.
type kindProvider struct {
	image        string
	host         string
	dial         dockerDialer
	lookPath     func(string) (string, error)
	startTimeout time.Duration
}

func newKind(o Options) *kindProvider {
	img := o.KindImage
	if img == "" {
		img = DefaultKindImage
	}
	return &kindProvider{image: img, host: o.dockerHost(), dial: dialDocker, lookPath: exec.LookPath,
		startTimeout: kindStartTimeout}
}

func (p *kindProvider) Name() string { return NameKind }

func (p *kindProvider) Start(ctx context.Context) (Cluster, error) {
	const who = "kind cluster"
	ctx, cancel := context.WithTimeout(ctx, p.startTimeout)
	defer cancel()

	// Without a binary on PATH, e2e-framework would run 'go install' itself: slow, and it fails
	// here anyway. Say so instead.
	bin, err := p.lookPath("kind")
	if err != nil {
		return nil, missing(nil, "%s: no 'kind' binary on PATH: install it with 'go install sigs.k8s.io/kind@%s' "+
			"(or set E2E_CLUSTER=local)", who, KindVersion)
	}
	if _, err := p.lookPath("docker"); err != nil {
		return nil, missing(nil, "%s: no 'docker' binary on PATH: kind drives the Docker engine through it; "+
			"install the Docker CLI (or set E2E_CLUSTER=local)", who)
	}
	if err := checkDocker(ctx, p.dial, p.host, who, p.image, "E2E_KIND_IMAGE"); err != nil {
		return nil, err
	}

	name := kindClusterName()
	dir, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, fmt.Errorf("%s: temporary directory for %s: %w", who, name, err)
	}
	kc := kind.NewProvider().WithName(name).WithPath(bin).WithOpts(kind.WithImage(p.image))

	stop := func(ctx context.Context) error {
		sctx, cancel := context.WithTimeout(ctx, kindStopTimeout)
		defer cancel()
		var errs []error
		if err := kc.Destroy(sctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: delete %s: %w", who, name, err))
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("%s: remove %s: %w", who, dir, err))
		}
		return errors.Join(errs...)
	}

	kubeconfig, err := p.create(ctx, kc, filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s: create %s from %s: %w", who, name, p.image, err),
			stop(context.WithoutCancel(ctx)))
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("%s: read kubeconfig %s: %w", who, kubeconfig, err),
			stop(context.WithoutCancel(ctx)))
	}
	kcl := &kindCluster{started: &started{name: NameKind, cfg: cfg, stop: stop}}
	kcl.images, _ = kc.(support.E2EClusterProviderWithImageLoader) // e2e-framework's kind provider is one
	return kcl, nil
}

// kindCluster is a kind cluster: it can load images into its nodes.
type kindCluster struct {
	*started
	images support.E2EClusterProviderWithImageLoader
}

// LoadImageArchive runs `kind load image-archive` for the cluster: every node's containerd gets
// the archive's images, which Pods with imagePullPolicy IfNotPresent then run without a registry.
func (c *kindCluster) LoadImageArchive(ctx context.Context, path string) error {
	if c.images == nil {
		return errors.New("kind cluster: its provider cannot load images")
	}
	if err := c.images.LoadImageArchive(ctx, path); err != nil {
		return fmt.Errorf("kind cluster: loading the image archive %s into its nodes: %w", path, err)
	}
	return nil
}

// create runs the creation and gives up when ctx ends, even if a kind command that e2e-framework
// runs without the context ('kind get clusters') hangs. --kubeconfig keeps the user's own
// kubeconfig untouched.
func (p *kindProvider) create(ctx context.Context, kc support.E2EClusterProvider, kubeconfig string) (string, error) {
	type result struct {
		path string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		path, err := kc.Create(ctx, "--kubeconfig", kubeconfig)
		done <- result{path, err}
	}()
	select {
	case r := <-done:
		return r.path, r.err
	case <-ctx.Done():
		// The context kills 'kind create'; let it finish cleaning up before Stop deletes.
		select {
		case <-done:
		case <-time.After(kindCreateGrace):
		}
		return "", fmt.Errorf("waited %s for 'kind create cluster' to bring its node container up and the API server to serve, which did not happen: %w", p.startTimeout, ctx.Err())
	}
}

// kindClusterName is unique per run, so parallel runs and leftovers of a crashed run never meet.
func kindClusterName() string { return "gateway-e2e-" + runid.New() }
