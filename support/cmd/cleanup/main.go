// Command cleanup removes the namespaces that suite runs left behind on a cluster (`make
// clean-cluster`): those carrying the suite's marker label, older than --older-than, or of one
// --run-id. It never touches a namespace without the marker label.
//
// First it kills the kube-apiservers and etcds of runs that were killed outright (whose parent
// is gone; see processes.go). Then it removes, from the local Docker engine, the containers and networks that crashed
// E2E_CLUSTER=container runs left (those whose owning process is gone, or of --run-id), and with
// --images the control-plane images too. No Docker engine is not an error: there is nothing to
// remove then.
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

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/controlplane"
	"github.com/kubernaut/gateway-contract/support/namespace"
)

func main() {
	// A flag set of its own: support/cluster brings in controller-runtime, whose init registers a
	// --kubeconfig of its own on the default set.
	fs := flag.NewFlagSet("cleanup", flag.ExitOnError)
	olderThan := fs.Duration("older-than", time.Second, "remove suite namespaces older than this (the default takes all but the newest)")
	runID := fs.String("run-id", "", "remove only the namespaces (and containers) of this run")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	containers := fs.Bool("containers", true, "also remove leftover containers and networks of E2E_CLUSTER=container runs")
	images := fs.Bool("images", false, "also remove the control-plane images E2E_CLUSTER=container built (rebuilt on next use)")
	processes := fs.Bool("processes", true, "also kill the control planes (kube-apiserver, etcd) that runs killed outright left running")
	_ = fs.Parse(os.Args[1:])
	if *processes {
		if err := removeProcessLeftovers(); err != nil {
			fmt.Fprintf(os.Stderr, "cleanup: %v\n", err)
			os.Exit(1)
		}
	}
	if *containers || *images {
		if err := removeDockerLeftovers(*runID, *containers, *images); err != nil {
			fmt.Fprintf(os.Stderr, "cleanup: %v\n", err)
			os.Exit(1)
		}
	}
	if err := run(*kubeconfig, *olderThan, *runID); err != nil {
		fmt.Fprintf(os.Stderr, "cleanup: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig string, olderThan time.Duration, runID string) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if kubeconfig == "" && clientcmd.IsEmptyConfig(err) {
		// The embedded control plane dies with its run: without a configured cluster there are no
		// namespaces to sweep, and the leftovers above were the whole job.
		fmt.Println("cleanup: no kubeconfig (KUBECONFIG, --kubeconfig or ~/.kube/config), so no cluster's namespaces to remove")
		return nil
	}
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

// removeProcessLeftovers kills the orphaned control-plane processes of this user's cache.
func removeProcessLeftovers() error {
	root, err := controlplane.CacheRoot()
	if err != nil {
		return err
	}
	removed, err := removeOrphanedProcesses(root)
	for _, r := range removed {
		fmt.Println("removed", r)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "cleanup: removed %d processes and directories that killed runs left\n", len(removed))
	return nil
}

// removeDockerLeftovers removes what crashed container-cluster runs left in the Docker engine.
func removeDockerLeftovers(runID string, containers, images bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := cluster.DockerAvailable(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "cleanup: no Docker engine (%v); no containers to remove\n", err)
		return nil
	}
	var removed []string
	if containers {
		r, err := cluster.RemoveLeftoverContainers(ctx, runID)
		removed = append(removed, r...)
		if err != nil {
			return err
		}
	}
	if images {
		r, err := cluster.RemoveControlPlaneImages(ctx)
		removed = append(removed, r...)
		if err != nil {
			return err
		}
	}
	for _, r := range removed {
		fmt.Println("removed", r)
	}
	fmt.Fprintf(os.Stderr, "cleanup: removed %d Docker leftovers of container-cluster runs\n", len(removed))
	return nil
}
