// Command cluster runs the embedded control plane on its own, made ready for the gateway as the
// suite's cluster is (harness.Prepare: the CRD, the gateway's RBAC and namespaces, the suite's
// sender), until it is interrupted. It writes two kubeconfigs into --dir: admin.kubeconfig
// (for the suite as E2E_CLUSTER=existing, or kubectl) and gateway.kubeconfig (the gateway's own
// ServiceAccount token). With --deploy it deploys the gateway as shipped instead: the image from
// this checkout, gateway/config/default applied, and the Pod template's container run on its
// in-cluster identity (no kubeconfig); its URL (https) goes to gateway.url and the CA of its serving
// certificate to gateway-ca.crt. `make e2e-contract` uses that
// to run the suite against a gateway that the suite did not launch; it is also handy for poking
// at the gateway by hand.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/controlplane"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/settings"
)

func main() {
	dir := flag.String("dir", "", "directory for admin.kubeconfig and gateway.kubeconfig (required)")
	deployIt := flag.Bool("deploy", false, "deploy the gateway as shipped (image, manifests, in-cluster identity) and write its URL to gateway.url, its CA to gateway-ca.crt")
	var args gatewayArgs
	flag.Var(&args, "gateway-arg", "a flag for the deployed gateway, after the manifest's args (repeatable)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "cluster: --dir is required: where to write the kubeconfigs")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *dir, *deployIt, args); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		os.Exit(1)
	}
}

// gatewayArgs collects the repeated --gateway-arg.
type gatewayArgs []string

func (a *gatewayArgs) String() string     { return fmt.Sprint(*a) }
func (a *gatewayArgs) Set(v string) error { *a = append(*a, v); return nil }

func run(ctx context.Context, dir string, deployIt bool, args []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	s, err := settings.FromEnvironment(os.Getenv)
	if err != nil {
		return err
	}
	provider, err := harness.Provider(s, cluster.NameLocal)
	if err != nil {
		return err
	}
	spec := harness.ReadySpec{Provider: provider, Settings: s, Identity: harness.OwnIdentity, Disposable: true}
	if deployIt {
		spec.Identity = harness.NamedIdentity // the Deployment's, which Deploy applies
	}
	var undo lifecycle.Stack
	defer undo.Unwind(context.WithoutCancel(ctx))
	ready, err := harness.Prepare(ctx, spec, &undo)
	if err != nil {
		return err
	}
	cfg := ready.Admin()
	if deployIt {
		d, err := harness.Deploy(ctx, cfg, os.Stderr, args...)
		if err != nil {
			return err
		}
		defer d.Stop(context.WithoutCancel(ctx))
		// The CA first: gateway.url's appearance says the deployed gateway can be used.
		if err := os.WriteFile(filepath.Join(dir, "gateway-ca.crt"), d.CA, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "gateway.url"), []byte(d.Process.URL()+"\n"), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "cluster: the deployed gateway (%s) answers at %s\n", d.Process, d.Process.URL())
	} else {
		if err := gatewayproc.WriteKubeconfig(filepath.Join(dir, "gateway.kubeconfig"), cfg.Host, cfg.CAData, ready.Identity.Token); err != nil {
			return err
		}
	}
	// The admin kubeconfig is written last: its appearance tells scripts that all is ready.
	if err := writeAdmin(filepath.Join(dir, "admin.kubeconfig"), cfg); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "cluster: API server %s ready; kubeconfigs in %s; interrupt to stop\n", cfg.Host, dir)
	<-ctx.Done()
	return nil
}

// writeAdmin writes the admin kubeconfig under a temporary name first: its appearance is the
// "ready" signal of scripts, so it must never be seen half written.
func writeAdmin(path string, cfg *rest.Config) error {
	tmp := path + ".tmp"
	if err := controlplane.WriteKubeconfig(tmp, cfg); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
