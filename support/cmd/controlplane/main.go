// Command controlplane builds the embedded kube-apiserver and etcd, and the harness's
// Alertmanager, ahead of time (`make controlplane`), so that the first `make e2e` does not spend
// minutes compiling. It prints the directory holding the control plane's binaries, then the one
// holding Alertmanager's, one a line on standard output; progress and timings go to standard error.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/kubernaut/gateway-contract/support/alertmanager"
	"github.com/kubernaut/gateway-contract/support/controlplane"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	begin := time.Now()
	dir, err := controlplane.EnsureBinaries(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "controlplane: %v\n", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "controlplane: kube-apiserver %s and etcd %s ready in %s (%s)\n",
		controlplane.KubernetesVersion, controlplane.EtcdVersion, dir, time.Since(begin).Round(time.Millisecond))

	amBegin := time.Now()
	amBinary, err := alertmanager.EnsureBinary(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "alertmanager: %v\n", err)
		os.Exit(1)
	}
	amDir := filepath.Dir(amBinary)
	fmt.Fprintf(os.Stderr, "alertmanager: Alertmanager %s ready in %s (%s)\n",
		alertmanager.Version, amDir, time.Since(amBegin).Round(time.Millisecond))
	fmt.Println(dir)
	fmt.Println(amDir)
}
