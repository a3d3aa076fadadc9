package harness

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/support/controlplane"
	"github.com/kubernaut/gateway-contract/support/settings"
)

var errInjected = errors.New("injected failure")

// TestSetupFailsCleanlyAtEveryStage fails each stage of a launched-gateway setup in turn, on an
// API server the test runs itself (as the existing provider, so that the harness does not own
// the cluster), and checks that the original error comes back in one line and that every process
// and object the stages before it made is gone. A last pass fails nothing, tears down, and
// checks the same.
func TestSetupFailsCleanlyAtEveryStage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane and gateways: not in -short")
	}
	ctx := context.Background()
	cp, err := controlplane.Start(ctx, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	admin := cp.RESTConfig()
	kube := kubernetes.NewForConfigOrDie(admin)
	s := testSettings(t, "-e2e.cluster=existing")
	s.Tools.Kubeconfigs = []string{writeAdminKubeconfig(t, admin)}

	stageNames := []string{}
	for _, st := range (&Harness{Settings: s}).stages() {
		stageNames = append(stageNames, st.Name)
	}
	children := childProcesses(t)
	for _, failAt := range append(stageNames, "") {
		name := failAt
		if name == "" {
			name = "none (setup, then teardown)"
		}
		t.Run("fail "+name, func(t *testing.T) {
			h, err := setup(ctx, s, io.Discard, func(stage string) error {
				if stage == failAt {
					return errInjected
				}
				return nil
			})
			if failAt != "" {
				if err == nil || !errors.Is(err, errInjected) || strings.Contains(err.Error(), "\n") ||
					!strings.Contains(err.Error(), "("+failAt+")") {
					t.Fatalf("setup failing at %s = %v; want the injected error, naming the stage, on one line", failAt, err)
				}
				if h != nil {
					t.Fatal("a failed setup returned a harness")
				}
			} else {
				if err != nil {
					t.Fatalf("setup: %v", err)
				}
				if err := h.Teardown(ctx); err != nil {
					t.Fatalf("teardown: %v", err)
				}
			}
			if now := childProcesses(t); now != children {
				t.Errorf("processes left behind: before %q, after %q", children, now)
			}
			requireGone(ctx, t, kube, admin)
		})
	}
}

// TestTeardownOfNothingIsSafe: tearing down a harness that setup never returned (a nil
// *Harness) must not panic.
func TestTeardownOfNothingIsSafe(t *testing.T) {
	var h *Harness
	if err := h.Teardown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func testSettings(t *testing.T, args ...string) settings.Settings {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	l := settings.Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	s, err := l.Load(func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// requireGone checks that nothing the harness creates on a cluster is still there.
func requireGone(ctx context.Context, t *testing.T, kube kubernetes.Interface, admin *rest.Config) {
	t.Helper()
	checks := map[string]func() error{
		"ServiceAccount kubernaut-system/kubernaut-gateway": func() error {
			_, err := kube.CoreV1().ServiceAccounts("kubernaut-system").Get(ctx, "kubernaut-gateway", metav1.GetOptions{})
			return err
		},
		"ServiceAccount kubernaut-system/" + SenderServiceAccount: func() error {
			_, err := kube.CoreV1().ServiceAccounts("kubernaut-system").Get(ctx, SenderServiceAccount, metav1.GetOptions{})
			return err
		},
		"ClusterRoleBinding kubernaut-gateway": func() error {
			_, err := kube.RbacV1().ClusterRoleBindings().Get(ctx, "kubernaut-gateway", metav1.GetOptions{})
			return err
		},
		"ClusterRoleBinding " + SenderServiceAccount: func() error {
			_, err := kube.RbacV1().ClusterRoleBindings().Get(ctx, SenderServiceAccount, metav1.GetOptions{})
			return err
		},
		"ClusterRole kubernaut-signal-sender": func() error {
			_, err := kube.RbacV1().ClusterRoles().Get(ctx, "kubernaut-signal-sender", metav1.GetOptions{})
			return err
		},
		"CRD remediationrequests.kubernaut.ai": func() error {
			c, err := ctrlclient.New(admin, ctrlclient.Options{})
			if err != nil {
				return err
			}
			if err := apiextensionsv1.AddToScheme(c.Scheme()); err != nil {
				return err
			}
			crd := &apiextensionsv1.CustomResourceDefinition{}
			return c.Get(ctx, ctrlclient.ObjectKey{Name: "remediationrequests.kubernaut.ai"}, crd)
		},
		"Namespace kubernaut-system (or Terminating)": func() error {
			ns, err := kube.CoreV1().Namespaces().Get(ctx, "kubernaut-system", metav1.GetOptions{})
			if err == nil && ns.DeletionTimestamp != nil {
				return apierrors.NewNotFound(metav1.SchemeGroupVersion.WithResource("namespaces").GroupResource(), ns.Name)
			}
			return err
		},
	}
	for what, get := range checks {
		if err := get(); !apierrors.IsNotFound(err) {
			t.Errorf("%s is still there (or could not be checked: %v)", what, err)
		}
	}
}

// childProcesses names this test process's children other than the control plane's: gateways
// (and anything else a stage started).
func childProcesses(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("reading /proc: %v", err)
	}
	self := strconv.Itoa(os.Getpid())
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command (which is in parentheses and may hold spaces).
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) < 2 || fields[1] != self {
			continue
		}
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		base := filepath.Base(exe)
		if base == "etcd" || base == "kube-apiserver" || base == "kube-controller-manager" {
			continue
		}
		out = append(out, base)
	}
	return strings.Join(out, ",")
}

func writeAdminKubeconfig(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admin.kubeconfig")
	if err := controlplane.WriteKubeconfig(path, cfg); err != nil {
		t.Fatal(err)
	}
	return path
}
