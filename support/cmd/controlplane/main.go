// Command controlplane builds the embedded kube-apiserver and etcd ahead of time (`make
// controlplane`), so that the first `make e2e` does not spend minutes compiling. It prints the
// directory holding the binaries.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

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
	fmt.Println(dir)
}
