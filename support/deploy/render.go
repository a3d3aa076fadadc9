// Package deploy renders the gateway's kustomization (gateway/config/default) with kustomize's Go
// API and applies it to a cluster with server-side apply, without a kubectl binary. Between the
// two, small transformations (image, namespace, replicas, args) adapt the rendered objects to a
// run, so that a test deploys exactly what a user would, changed only where it says so.
package deploy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubernaut/gateway-contract/support/repo"
)

// The names the gateway's manifests use.
const (
	// Namespace is where gateway/config/default puts the gateway.
	Namespace = "kubernaut-system"
	// Name is the Deployment's, the Service's, the ServiceAccount's and the PDB's name.
	Name = "kubernaut-gateway"
	// Container is the gateway's container in the Deployment.
	Container = "gateway"
	// DefaultDir is the kustomization a user applies, relative to the checkout root.
	DefaultDir = "gateway/config/default"
)

// Render builds the kustomization in dir (on disk) the way `kubectl apply -k dir` would and
// returns its objects in kustomize's order (namespaces and CRDs first).
func Render(dir string) ([]*unstructured.Unstructured, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("rendering the kustomization %s: %w", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		// Through JSON: kustomize's maps hold Go ints, which unstructured's helpers reject.
		data, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("rendering %s: %s: %w", dir, r.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("rendering %s: %s: %w", dir, r.CurId(), err)
		}
		objs = append(objs, u)
	}
	return objs, nil
}

// RenderDefault renders DefaultDir of this checkout (found with repo.Root): what a user applies.
func RenderDefault() ([]*unstructured.Unstructured, error) {
	dir, err := repo.Path(DefaultDir)
	if err != nil {
		return nil, err
	}
	return Render(dir)
}

// Find returns the one object of kind and name in objs (kind as in the manifest, "Deployment").
func Find(objs []*unstructured.Unstructured, kind, name string) (*unstructured.Unstructured, error) {
	var found *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if found != nil {
				return nil, fmt.Errorf("two %s objects named %s in the rendered manifests", kind, name)
			}
			found = o
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no %s named %s in the rendered manifests", kind, name)
	}
	return found, nil
}

// Deployment returns a typed copy of the gateway's Deployment in objs; changing it changes
// nothing in objs (use the Set functions for that).
func Deployment(objs []*unstructured.Unstructured) (*appsv1.Deployment, error) {
	u, err := Find(objs, "Deployment", Name)
	if err != nil {
		return nil, err
	}
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
		return nil, fmt.Errorf("the rendered Deployment %s: %w", Name, err)
	}
	return &d, nil
}

// PodTemplate returns a typed copy of the gateway Deployment's pod template: what every gateway
// Pod is made from (security context, probes, args, resources).
func PodTemplate(objs []*unstructured.Unstructured) (*corev1.PodTemplateSpec, error) {
	d, err := Deployment(objs)
	if err != nil {
		return nil, err
	}
	return &d.Spec.Template, nil
}

// SetImage makes the gateway container of the Deployment run image (e.g. the tag Build gave).
func SetImage(objs []*unstructured.Unstructured, image string) error {
	return editContainer(objs, func(c map[string]any) error {
		c["image"] = image
		return nil
	})
}

// SetArg sets the gateway's flag to value: it replaces "--flag=..." in the container's args, or
// adds it. flag is given without dashes ("shutdown-delay").
func SetArg(objs []*unstructured.Unstructured, flag, value string) error {
	return editContainer(objs, func(c map[string]any) error {
		args, _, err := unstructured.NestedStringSlice(c, "args")
		if err != nil {
			return err
		}
		arg := "--" + flag + "=" + value
		i := slices.IndexFunc(args, func(a string) bool {
			return strings.HasPrefix(a, "--"+flag+"=") || strings.HasPrefix(a, "-"+flag+"=")
		})
		if i >= 0 {
			args[i] = arg
		} else {
			args = append(args, arg)
		}
		return unstructured.SetNestedStringSlice(c, args, "args")
	})
}

// SetReplicas sets the Deployment's replicas.
func SetReplicas(objs []*unstructured.Unstructured, n int32) error {
	u, err := Find(objs, "Deployment", Name)
	if err != nil {
		return err
	}
	return unstructured.SetNestedField(u.Object, int64(n), "spec", "replicas")
}

// SetNamespace moves everything from the manifests' namespace (Namespace) to ns: the Namespace
// object itself, every namespaced object, and the ServiceAccount subjects of the bindings. The
// gateway's --fallback-namespace stays as it is; SetArg changes it. Cluster-scoped objects (the
// CRD, the ClusterRoles, the ClusterRoleBinding) keep their names: two deployments in two
// namespaces of one cluster share them, and the binding's subject is the last one applied.
func SetNamespace(objs []*unstructured.Unstructured, ns string) error {
	if ns == "" {
		return errors.New("SetNamespace: empty namespace")
	}
	for _, o := range objs {
		switch {
		case o.GetKind() == "Namespace" && o.GetName() == Namespace:
			o.SetName(ns)
		case o.GetNamespace() == Namespace:
			o.SetNamespace(ns)
		}
		if k := o.GetKind(); k == "ClusterRoleBinding" || k == "RoleBinding" {
			subjects, _, err := unstructured.NestedSlice(o.Object, "subjects")
			if err != nil {
				return fmt.Errorf("SetNamespace: %s %s: %w", k, o.GetName(), err)
			}
			for _, s := range subjects {
				if m, ok := s.(map[string]any); ok && m["kind"] == "ServiceAccount" && m["namespace"] == Namespace {
					m["namespace"] = ns
				}
			}
			if err := unstructured.SetNestedSlice(o.Object, subjects, "subjects"); err != nil {
				return fmt.Errorf("SetNamespace: %s %s: %w", k, o.GetName(), err)
			}
		}
	}
	return nil
}

// editContainer applies edit to the gateway container of the Deployment in objs, in place.
func editContainer(objs []*unstructured.Unstructured, edit func(map[string]any) error) error {
	u, err := Find(objs, "Deployment", Name)
	if err != nil {
		return err
	}
	containers, _, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return fmt.Errorf("the Deployment's containers: %w", err)
	}
	for _, c := range containers {
		m, ok := c.(map[string]any)
		if !ok || m["name"] != Container {
			continue
		}
		if err := edit(m); err != nil {
			return fmt.Errorf("the Deployment's container %s: %w", Container, err)
		}
		return unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
	}
	return fmt.Errorf("the Deployment %s has no container named %s", Name, Container)
}
