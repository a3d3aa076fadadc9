package steps

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cucumber/godog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Steps about authorization where the gateway writes: a signal that lands in the fallback
// namespace (about a node or another cluster-scoped target, or about a namespace that does not
// exist) is authorized there, not in the namespace its labels name.
func registerFallbackAuthSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the sender is also allowed to raise signals in the fallback namespace$`, senderInFallback)
	sc.Step(`^Alertmanager sends a firing alert "([^"]+)" with severity "([^"]*)" for node "([^"]+)" labelled with this namespace$`, sendNodeAlertLabelled)
	sc.Step(`^nothing of this scenario is in the fallback namespace$`, nothingInFallback)
	sc.Step(`^the sender's binding in this namespace is held back by a finalizer$`, holdBinding)
}

// senderInFallback binds the scenario's sender in the fallback namespace too; the binding is
// removed at the scenario's end (the fallback namespace outlives it).
func senderInFallback(ctx context.Context) error {
	st := state(ctx)
	s, err := st.currentSender()
	if err != nil {
		return err
	}
	keep := s.binding // revoke acts on the binding in the scenario's namespace
	fallback := st.run.FallbackNamespace()
	if err := st.bind(ctx, s, fallback); err != nil {
		return err
	}
	name := s.name + "-sends"
	s.binding = keep
	st.undo.Push("the sender's binding in the fallback namespace", func(ctx context.Context) error {
		err := st.kube().RbacV1().RoleBindings(fallback).Delete(ctx, name, metav1.DeleteOptions{})
		if isNotFound(err) {
			return nil
		}
		return err
	})
	return nil
}

// sendNodeAlertLabelled sends an alert about a node whose labels also name the scenario's
// namespace, as a node exporter's alert relabelled by a team would: the gateway writes it to the
// fallback namespace, so that is where the sender must be allowed.
func sendNodeAlertLabelled(ctx context.Context, name, severity, node string) error {
	st := state(ctx)
	a, err := st.newAlert(name, severity, "node", node)
	if err != nil {
		return err
	}
	a.namespace = st.ns
	_, err = st.send(ctx, jsonRequest(alertPath, notification([]alert{a}, time.Now())))
	return err
}

// nothingInFallback checks that the fallback namespace holds no remediation request of the
// scenario.
func nothingInFallback(ctx context.Context) error {
	st := state(ctx)
	items, err := st.list(ctx, st.run.FallbackNamespace())
	if err != nil {
		return err
	}
	for i := range items {
		if st.owns(&items[i]) {
			return fmt.Errorf("the fallback namespace holds %s of this scenario (%s on %s %s)", items[i].Name,
				items[i].Spec.SignalName, items[i].Spec.TargetResource.Kind, items[i].Spec.TargetResource.Name)
		}
	}
	return nil
}

// holdBinding puts a finalizer on the sender's RoleBinding in the scenario's namespace, so that
// when the namespace is deleted the binding outlives the namespace controller's cleanup and the
// API server still grants the sender that namespace while it terminates: the one way a sender
// allowed there reaches the fallback that only the API's answer (NamespaceTerminating) decides.
// The finalizer is removed at the scenario's end.
func holdBinding(ctx context.Context) error {
	st := state(ctx)
	s, err := st.currentSender()
	if err != nil {
		return err
	}
	ns, name, ok := strings.Cut(s.binding, "/")
	if !ok || ns != st.ns {
		return fmt.Errorf("the sender has no binding in this namespace to hold back (it has %q)", s.binding)
	}
	hold := []byte(`{"metadata":{"finalizers":["` + holdFinalizer + `"]}}`)
	if _, err := st.kube().RbacV1().RoleBindings(ns).Patch(ctx, name, types.MergePatchType, hold, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("holding back the binding %s: %w", s.binding, err)
	}
	st.undo.Push("the finalizer holding the binding "+s.binding, func(ctx context.Context) error {
		release := []byte(`{"metadata":{"finalizers":null}}`)
		_, err := st.kube().RbacV1().RoleBindings(ns).Patch(ctx, name, types.MergePatchType, release, metav1.PatchOptions{})
		if isNotFound(err) {
			return nil
		}
		return err
	})
	return nil
}
