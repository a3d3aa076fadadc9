// Command cleanup removes the namespaces that suite runs left behind on a cluster (`make
// clean-cluster`): those carrying the suite's marker label, older than --older-than, or of one
// --run-id. It never touches a namespace without the marker label.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubernaut/gateway-contract/support/namespace"
)

func main() {
	olderThan := flag.Duration("older-than", time.Second, "remove suite namespaces older than this (the default takes all but the newest)")
	runID := flag.String("run-id", "", "remove only the namespaces of this run")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	flag.Parse()
	if err := run(*kubeconfig, *olderThan, *runID); err != nil {
		fmt.Fprintf(os.Stderr, "cleanup: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig string, olderThan time.Duration, runID string) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return fmt.Errorf("no usable kubeconfig (set KUBECONFIG or --kubeconfig): %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	removed, err := namespace.Sweep(ctx, cs, olderThan, runID, namespace.WithDynamic(dyn))
	for _, ns := range removed {
		fmt.Println("removed", ns)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "cleanup: removed %d suite namespaces from %s\n", len(removed), cfg.Host)
	return nil
}
