package controlplane

import (
	"context"
	"io"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// TestControllersRemoveNamespaces starts the embedded control plane and shows that a deleted
// namespace is emptied and removed by the cluster's own namespace controller, with nothing
// finalized by hand.
func TestControllersRemoveNamespaces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane: not in -short")
	}
	ctx := context.Background()
	cp, err := Start(ctx, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			t.Error(err)
		}
	}()
	if !cp.Controllers() {
		t.Fatal("kube-controller-manager is not running: the module build includes it")
	}
	cs := kubernetes.NewForConfigOrDie(cp.RESTConfig())
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "content"}}
	if _, err := cs.CoreV1().ConfigMaps("doomed").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("the namespace controller did not remove a deleted namespace within 60s: %v", err)
	}
	t.Logf("namespace removed by the namespace controller in %s", time.Since(begin).Round(time.Millisecond))
}
