package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kubernaut/gateway-contract/support/controlplane"
	"github.com/kubernaut/gateway-contract/support/namespace"
	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/runid"
)

// TestLocalProviderForReal starts the embedded control plane, installs the CRD, creates and
// removes a namespace, stops, and checks that no kube-apiserver or etcd process is left.
func TestLocalProviderForReal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	c := startLocal(ctx, t)
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop(ctx)
		}
	}()
	if sd, ok := c.(interface{ StartupDuration() time.Duration }); ok {
		t.Logf("control plane ready in %s", sd.StartupDuration())
	}
	cfg := c.RESTConfig()

	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	v, err := disco.ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != controlplane.KubernetesVersion {
		t.Errorf("server reports %s, want %s (the build's version ldflags)", v.GitVersion, controlplane.KubernetesVersion)
	}

	crdDir, err := repo.Path("gateway", "config", "crd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := envtest.InstallCRDs(cfg, envtest.CRDInstallOptions{Paths: []string{crdDir}, ErrorIfPathMissing: true}); err != nil {
		t.Fatalf("installing the CRD: %v", err)
	}
	res, err := disco.ServerResourcesForGroupVersion("kubernaut.ai/v1alpha1")
	if err != nil || len(res.APIResources) == 0 || !strings.HasPrefix(res.APIResources[0].Name, "remediationrequests") {
		t.Fatalf("the CRD is not served: %v %v", res, err)
	}

	cs := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	gen := namespace.New(runid.New())
	ns := gen.Name("creates and removes a namespace")
	if err := namespace.Create(ctx, cs, ns, gen.Labels("f", "s"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := namespace.Delete(ctx, cs, ns, namespace.WithDynamic(dyn)); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s still exists after Delete: %v", ns, err)
	}

	binDir, err := controlplane.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	if running := processesFrom(t, binDir); len(running) != 3 {
		t.Fatalf("expected this test's etcd, kube-apiserver and kube-controller-manager among its children, found %v", running)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if left := processesFrom(t, binDir); len(left) > 0 {
		t.Fatalf("processes left after Stop: %v", left)
	}
}

// startLocal starts the default provider, building the control plane first if this machine has
// not yet done so (hence the long bound the callers give ctx).
func startLocal(ctx context.Context, tb testing.TB) Cluster {
	tb.Helper()
	p, err := fromEnv(func(string) string { return "" })
	if err != nil {
		tb.Fatal(err)
	}
	c, err := p.Start(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// processesFrom lists this test process's children whose executable lives in dir: the control
// plane it started. Other test processes may run their own control plane at the same time.
func processesFrom(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("reading /proc: %v", err)
	}
	me := strconv.Itoa(os.Getpid())
	var out []string
	for _, e := range entries {
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || !strings.HasPrefix(exe, dir) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// stat is "pid (comm) state ppid ..."; comm may hold spaces, so split after the ")".
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == me {
			out = append(out, e.Name()+" "+exe)
		}
	}
	return out
}
