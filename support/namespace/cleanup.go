package namespace

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// RemediationRequests is the custom resource the gateway writes into scenario namespaces; Delete
// removes it by default when it is given a dynamic client.
var RemediationRequests = v1alpha1.GroupVersion.WithResource(v1alpha1.ResourcePlural)

// Option adjusts Delete and Sweep.
type Option func(*cleanup)

type cleanup struct {
	dyn        dynamic.Interface
	resources  []schema.GroupVersionResource
	controller bool
}

// LeaveToController makes Delete only ask for the deletion: the cluster's namespace controller
// empties and removes the namespace, as on any real cluster, and nothing is finalized by hand.
// WaitGone then waits for it, with a bound.
func LeaveToController() Option {
	return func(c *cleanup) { c.controller = true }
}

// WithDynamic lets Delete remove custom resources (RemediationRequests when none are named) from
// a namespace stuck in Terminating. Without it only core Events are removed before finalizing, and
// custom resources would be left orphaned in etcd.
func WithDynamic(dc dynamic.Interface, resources ...schema.GroupVersionResource) Option {
	return func(c *cleanup) {
		c.dyn = dc
		c.resources = resources
		if len(resources) == 0 {
			c.resources = []schema.GroupVersionResource{RemediationRequests}
		}
	}
}

// Create makes a scenario namespace. It adds the managed-by marker if the labels lack it, because
// a namespace without it would be invisible to Sweep and leak after a crash, and it refuses names
// with MissingPrefix, which scenarios rely on never existing.
func Create(ctx context.Context, cs kubernetes.Interface, name string, labels, annotations map[string]string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("create namespace %q: invalid name: %s", name, strings.Join(errs, "; "))
	}
	if strings.HasPrefix(name, MissingPrefix) {
		return fmt.Errorf("create namespace %q: the prefix %q is reserved for namespaces that must not exist", name, MissingPrefix)
	}
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l[LabelManagedBy] = ManagedBy
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: l, Annotations: maps.Clone(annotations),
	}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %q: %w", name, err)
	}
	return nil
}

// Delete removes a namespace completely, also on a control plane without a namespace controller
// (the embedded kube-apiserver), where a deleted namespace would otherwise stay Terminating
// forever: once deleted, if it is still there, Delete removes the content the suite creates in it
// and finalizes it with empty spec.finalizers. A namespace that does not exist is not an error.
func Delete(ctx context.Context, cs kubernetes.Interface, name string, opts ...Option) error {
	var c cleanup
	for _, o := range opts {
		o(&c)
	}
	nsClient := cs.CoreV1().Namespaces()
	err := nsClient.Delete(ctx, name, metav1.DeleteOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		// Already Terminating: the apiserver answers Conflict while finalizers remain.
	case err != nil:
		return fmt.Errorf("delete namespace %q: %w", name, err)
	}
	if c.controller {
		return nil
	}
	ns, err := nsClient.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get namespace %q after delete: %w", name, err)
	}
	if len(ns.Spec.Finalizers) == 0 {
		return nil // nothing holds it; the apiserver removes it on its own
	}
	if err := c.removeContent(ctx, cs, name); err != nil {
		return err
	}
	return finalize(ctx, cs, name)
}

// WaitGone waits, for at most bound, until no namespace of the run runID is left (its namespace
// controller has removed them all), and names the ones that stay.
func WaitGone(ctx context.Context, cs kubernetes.Interface, runID string, bound time.Duration) error {
	sel := metav1.ListOptions{LabelSelector: LabelRunID + "=" + runID}
	var left []string
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, bound, true, func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Namespaces().List(ctx, sel)
		if err != nil {
			return false, err
		}
		left = left[:0]
		for _, ns := range list.Items {
			left = append(left, ns.Name+" ("+string(ns.Status.Phase)+")")
		}
		return len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("the namespace controller did not remove the run's namespaces within %s; left: %s: %w", bound, strings.Join(left, ", "), err)
	}
	return nil
}

// removeContent deletes the Events and the configured custom resources of the namespace, and
// strips the finalizers of any that stay, so that finalizing leaves nothing behind in etcd.
func (c *cleanup) removeContent(ctx context.Context, cs kubernetes.Interface, ns string) error {
	var errs []error
	events, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		errs = append(errs, fmt.Errorf("list events in %q: %w", ns, err))
	} else {
		for _, ev := range events.Items {
			if err := cs.CoreV1().Events(ns).Delete(ctx, ev.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete event %s/%s: %w", ns, ev.Name, err))
			}
		}
	}
	if c.dyn != nil {
		for _, gvr := range c.resources {
			errs = append(errs, c.removeResource(ctx, gvr, ns))
		}
	}
	return errors.Join(errs...)
}

func (c *cleanup) removeResource(ctx context.Context, gvr schema.GroupVersionResource, ns string) error {
	rc := c.dyn.Resource(gvr).Namespace(ns)
	list, err := rc.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil // the CRD is not installed
	}
	if err != nil {
		return fmt.Errorf("list %s in %q: %w", gvr.Resource, ns, err)
	}
	var errs []error
	for _, item := range list.Items {
		if len(item.GetFinalizers()) > 0 {
			patch := []byte(`{"metadata":{"finalizers":null}}`)
			if _, err := rc.Patch(ctx, item.GetName(), types.MergePatchType, patch, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("strip finalizers of %s %s/%s: %w", gvr.Resource, ns, item.GetName(), err))
			}
		}
		if err := rc.Delete(ctx, item.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s %s/%s: %w", gvr.Resource, ns, item.GetName(), err))
		}
	}
	return errors.Join(errs...)
}

func finalize(ctx context.Context, cs kubernetes.Interface, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ns.Spec.Finalizers = nil
		_, err = cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("finalize namespace %q: %w", name, err)
	}
	return nil
}

// Sweep deletes the suite's leftover namespaces: those carrying the managed-by marker that are
// older than olderThan (when it is positive) or belong to runID (when it is not empty). It never
// looks at a namespace without the marker. Asking for neither is an error rather than "everything",
// so a slip cannot wipe a parallel run's namespaces; pass a tiny olderThan to mean everything.
// It returns the names it deleted.
func Sweep(ctx context.Context, cs kubernetes.Interface, olderThan time.Duration, runID string, opts ...Option) ([]string, error) {
	if olderThan <= 0 && runID == "" {
		return nil, errors.New("sweep namespaces: give an age limit or a run id")
	}
	now := time.Now()
	var deleted []string
	var errs []error
	list := metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy, Limit: 500}
	for {
		page, err := cs.CoreV1().Namespaces().List(ctx, list)
		if err != nil {
			return deleted, errors.Join(append(errs, fmt.Errorf("list suite namespaces: %w", err))...)
		}
		for i := range page.Items {
			ns := &page.Items[i]
			if !selected(ns, now, olderThan, runID) {
				continue
			}
			if err := Delete(ctx, cs, ns.Name, opts...); err != nil {
				errs = append(errs, err)
				continue
			}
			deleted = append(deleted, ns.Name)
		}
		if page.Continue == "" {
			break
		}
		list.Continue = page.Continue
	}
	return deleted, errors.Join(errs...)
}

func selected(ns *corev1.Namespace, now time.Time, olderThan time.Duration, runID string) bool {
	if ns.Labels[LabelManagedBy] != ManagedBy {
		return false // the selector already says so; this guards a server that ignores it
	}
	if runID != "" && ns.Labels[LabelRunID] == runID {
		return true
	}
	if olderThan <= 0 {
		return false
	}
	created, ok := createdAt(ns)
	return ok && now.Sub(created) > olderThan
}

// createdAt prefers the suite's own label, written by the clock that also runs Sweep, and falls
// back to the apiserver's creation time.
func createdAt(ns *corev1.Namespace) (time.Time, bool) {
	if v, ok := ns.Labels[LabelCreatedAt]; ok {
		if sec, err := strconv.ParseInt(v, 10, 64); err == nil && sec > 0 {
			return time.Unix(sec, 0), true
		}
	}
	if !ns.CreationTimestamp.IsZero() {
		return ns.CreationTimestamp.Time, true
	}
	return time.Time{}, false
}
