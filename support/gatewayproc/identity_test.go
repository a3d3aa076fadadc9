package gatewayproc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubernaut/gateway-contract/support/lifecycle"
)

func TestUsername(t *testing.T) {
	id := &Identity{Namespace: "kubernaut-system", ServiceAccount: "kubernaut-gateway"}
	if got := id.Username(); got != "system:serviceaccount:kubernaut-system:kubernaut-gateway" {
		t.Errorf("Username = %q", got)
	}
}

func TestReadManifest(t *testing.T) {
	tests := []struct {
		file    string
		obj     any
		errPart string
	}{
		{"role.yaml", &rbacv1.ClusterRole{}, ""},
		{"sender_role.yaml", &rbacv1.ClusterRole{}, ""},
		{"service_account.yaml", &corev1.ServiceAccount{}, ""},
		{"missing.yaml", &rbacv1.ClusterRole{}, "run make generate?"},
		{"role.yaml", &struct{ Kind string }{}, "parsing the gateway manifest"}, // strict: unknown fields fail
	}
	for _, tc := range tests {
		err := ReadManifest(tc.file, tc.obj)
		if tc.errPart == "" && err != nil || tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("ReadManifest(%s) = %v, want error containing %q", tc.file, err, tc.errPart)
		}
	}
	var role rbacv1.ClusterRole
	if err := ReadManifest("sender_role.yaml", &role); err == nil && role.Name != "kubernaut-signal-sender" {
		t.Errorf("sender role named %q", role.Name)
	}
}

// TestApplyUndoesOnlyWhatItCreated: an object that existed stays at teardown; one it created goes;
// any other error than AlreadyExists fails, named.
func TestApplyUndoesOnlyWhatItCreated(t *testing.T) {
	ctx := context.Background()
	cs := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "existing"}})
	var undo lifecycle.Stack
	for _, ns := range []string{"existing", "created"} {
		if err := EnsureNamespace(ctx, cs, ns, &undo); err != nil {
			t.Fatal(err)
		}
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
	if err := ApplyClusterRole(ctx, cs, role, &undo); err != nil {
		t.Fatal(err)
	}
	if undo.Len() != 2 {
		t.Fatalf("%d undos pushed, want 2 (the created namespace and role)", undo.Len())
	}
	if err := undo.Unwind(ctx); err != nil {
		t.Fatal(err)
	}
	list, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].Name != "existing" {
		t.Errorf("after the undo the namespaces are %v, want only the existing one", list.Items)
	}

	failing := fake.NewClientset()
	failing.PrependReactor("create", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "x", errors.New("no"))
	})
	err = EnsureNamespace(ctx, failing, "x", nil)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "Namespace x") {
		t.Errorf("EnsureNamespace error = %v, want the Forbidden wrapped and the object named", err)
	}
}

func TestWriteKubeconfigHoldsOnlyTheToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gateway.kubeconfig")
	if err := WriteKubeconfig(path, "https://127.0.0.1:9443", []byte("ca"), "tok"); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "https://127.0.0.1:9443" || cfg.BearerToken != "tok" || string(cfg.CAData) != "ca" || len(cfg.CertData) != 0 {
		t.Errorf("kubeconfig holds %+v", cfg)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
}
