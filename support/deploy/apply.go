package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/kubernaut/gateway-contract/support/poll"
)

// FieldManager is the server-side apply field manager Apply uses when given none.
const FieldManager = "kubernaut-gateway-deploy"

// EstablishedTimeout bounds the wait for an applied CRD to be served: the API server establishes
// one in well under a second.
const EstablishedTimeout = 30 * time.Second

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// Apply server-side-applies objs (with Force, so it takes over fields another manager set, as
// `kubectl apply --server-side --force-conflicts` does) in two steps: first the Namespaces and
// CRDs, waiting until every CRD is Established, then the rest, so that a namespaced object never
// precedes its namespace nor a custom resource its definition. Kinds are resolved through
// discovery, so any kind the API server serves can be applied.
func Apply(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured, fieldManager string) error {
	if fieldManager == "" {
		fieldManager = FieldManager
	}
	dyn, mapper, err := clients(cfg)
	if err != nil {
		return err
	}
	first, rest := split(objs)
	for _, o := range first {
		if err := applyOne(ctx, dyn, mapper, o, fieldManager); err != nil {
			return err
		}
	}
	for _, o := range first {
		if o.GetKind() == "CustomResourceDefinition" {
			if err := waitEstablished(ctx, dyn, o.GetName()); err != nil {
				return err
			}
		}
	}
	mapper.Reset() // the new CRDs' kinds
	for _, o := range rest {
		if err := applyOne(ctx, dyn, mapper, o, fieldManager); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes objs in the reverse of Apply's order, ignoring those already gone; removing the
// Namespace removes what is in it. It does not wait for the objects to be gone.
func Delete(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) error {
	dyn, mapper, err := clients(cfg)
	if err != nil {
		return err
	}
	first, rest := split(objs)
	ordered := append(slices.Clone(first), rest...)
	slices.Reverse(ordered)
	var errs []error
	policy := metav1.DeletePropagationBackground
	for _, o := range ordered {
		ri, err := resourceFor(dyn, mapper, o)
		if err != nil {
			if meta.IsNoMatchError(err) {
				continue // its CRD is gone already
			}
			errs = append(errs, err)
			continue
		}
		err = ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting %s: %w", describe(o), err))
		}
	}
	return errors.Join(errs...)
}

// split puts the Namespaces and CRDs before everything else, each part in its given order.
func split(objs []*unstructured.Unstructured) (first, rest []*unstructured.Unstructured) {
	for _, o := range objs {
		if k := o.GetKind(); k == "Namespace" || k == "CustomResourceDefinition" {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	return first, rest
}

func clients(cfg *rest.Config) (*dynamic.DynamicClient, *restmapper.DeferredDiscoveryRESTMapper, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("dynamic client: %w", err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("discovery client: %w", err)
	}
	return dyn, restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco)), nil
}

func resourceFor(dyn dynamic.Interface, mapper meta.RESTMapper, o *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := o.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s: the API server does not serve %s: %w", describe(o), gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := o.GetNamespace()
		if ns == "" {
			return nil, fmt.Errorf("%s is namespaced but has no namespace", describe(o))
		}
		return dyn.Resource(m.Resource).Namespace(ns), nil
	}
	return dyn.Resource(m.Resource), nil
}

func applyOne(ctx context.Context, dyn dynamic.Interface, mapper meta.RESTMapper, o *unstructured.Unstructured, fieldManager string) error {
	ri, err := resourceFor(dyn, mapper, o)
	if err != nil {
		return err
	}
	if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
		return fmt.Errorf("applying %s: %w", describe(o), err)
	}
	return nil
}

// waitEstablished waits until the CRD name has the condition Established=True.
func waitEstablished(ctx context.Context, dyn dynamic.Interface, name string) error {
	return poll.Defaults().Until(ctx, EstablishedTimeout, "CRD "+name+" to be Established", func(ctx context.Context) (bool, string, error) {
		u, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, "", fmt.Errorf("reading CRD %s: %w", name, err)
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Established" {
				return m["status"] == "True", fmt.Sprintf("Established=%v (%v)", m["status"], m["message"]), nil
			}
		}
		return false, "no Established condition yet", nil
	})
}

func describe(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return fmt.Sprintf("%s %s/%s", o.GetKind(), ns, o.GetName())
	}
	return fmt.Sprintf("%s %s", o.GetKind(), o.GetName())
}
