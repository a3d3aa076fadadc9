package steps

import (
	"context"
	"fmt"

	"github.com/cucumber/godog"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Steps about the life of the scenario's namespace, as the cluster's own namespace controller
// (kube-controller-manager, on every provider) lives it: a namespace being deleted answers
// creates with NamespaceTerminating, and a deleted namespace takes its remediation requests
// with it.
func registerNamespaceSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the namespace is being deleted, held back by a finalizer$`, namespaceTerminating)
	sc.Step(`^the namespace is deleted and the cluster removes it with everything in it$`, namespaceRemoved)
	sc.Step(`^the namespace is created again$`, namespaceRecreated)
	sc.Step(`^it is labelled as coming from this namespace$`, itComesFromThisNamespace)
}

const holdFinalizer = "e2e.kubernaut.ai/hold"

// namespaceTerminating deletes the scenario's namespace while an object in it carries a
// finalizer, so that the namespace stays Terminating for as long as the scenario needs; the
// finalizer is released at the end of the scenario, and the namespace controller finishes.
func namespaceTerminating(ctx context.Context) error {
	st := state(ctx)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "e2e-hold", Namespace: st.ns, Finalizers: []string{holdFinalizer}}}
	if _, err := st.kube().CoreV1().ConfigMaps(st.ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the object that holds the namespace back: %w", err)
	}
	st.undo.Push("the finalizer holding "+st.ns, func(ctx context.Context) error {
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		_, err := st.kube().CoreV1().ConfigMaps(st.ns).Patch(ctx, cm.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	if err := st.kube().CoreV1().Namespaces().Delete(ctx, st.ns, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("deleting the namespace %s: %w", st.ns, err)
	}
	return st.bounds().Await(ctx, "the namespace "+st.ns+" to be Terminating", func(ctx context.Context) (bool, string, error) {
		ns, err := st.kube().CoreV1().Namespaces().Get(ctx, st.ns, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return ns.Status.Phase == corev1.NamespaceTerminating, "phase " + string(ns.Status.Phase), nil
	})
}

// namespaceRemoved deletes the namespace and waits until the cluster's namespace controller has
// removed it and everything in it: no finalizing by hand.
func namespaceRemoved(ctx context.Context) error {
	st := state(ctx)
	if err := st.kube().CoreV1().Namespaces().Delete(ctx, st.ns, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("deleting the namespace %s: %w", st.ns, err)
	}
	return st.bounds().Until(ctx, st.bounds().NamespaceGone, "the namespace controller to remove "+st.ns, func(ctx context.Context) (bool, string, error) {
		ns, err := st.kube().CoreV1().Namespaces().Get(ctx, st.ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", err
		}
		return false, "phase " + string(ns.Status.Phase) + " (is a namespace controller running?)", nil
	})
}

func namespaceRecreated(ctx context.Context) error {
	st := state(ctx)
	return st.run.CreateNamespace(ctx, st.ns, st.feature, st.name)
}

func itComesFromThisNamespace(ctx context.Context) error {
	st := state(ctx)
	rr, err := st.it()
	if err != nil {
		return err
	}
	if got := rr.Labels[labelOriginNamespace]; got != st.ns {
		return fmt.Errorf("expected label %s=%q on %s, got %q", labelOriginNamespace, st.ns, rr.Name, got)
	}
	return nil
}
