package namespace

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var nsGVR = corev1.SchemeGroupVersion.WithResource("namespaces")

// withoutNamespaceController makes the fake clientset behave like the embedded kube-apiserver
// without kube-controller-manager: deleting a namespace that has spec.finalizers only marks it
// Terminating (and a second delete answers Conflict), and only the finalize subresource with
// empty finalizers removes it.
func withoutNamespaceController(cs *fake.Clientset) {
	tracker := cs.Tracker()
	cs.PrependReactor("delete", "namespaces", func(action k8stesting.Action) (bool, runtime.Object, error) {
		name := action.(k8stesting.DeleteAction).GetName()
		obj, err := tracker.Get(nsGVR, "", name)
		if err != nil {
			return true, nil, err
		}
		ns := obj.(*corev1.Namespace)
		if len(ns.Spec.Finalizers) == 0 {
			return false, nil, nil
		}
		if ns.DeletionTimestamp != nil {
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "namespaces"}, name,
				errors.New("the system is ensuring all content is removed from this namespace"))
		}
		now := metav1.Now()
		ns.DeletionTimestamp = &now
		ns.Status.Phase = corev1.NamespaceTerminating
		return true, ns, tracker.Update(nsGVR, ns, "")
	})
	cs.PrependReactor("create", "namespaces", func(action k8stesting.Action) (bool, runtime.Object, error) {
		if action.GetSubresource() != "finalize" {
			return false, nil, nil
		}
		in := action.(k8stesting.CreateAction).GetObject().(*corev1.Namespace)
		obj, err := tracker.Get(nsGVR, "", in.Name)
		if err != nil {
			return true, nil, err
		}
		ns := obj.(*corev1.Namespace)
		ns.Spec.Finalizers = in.Spec.Finalizers
		if len(ns.Spec.Finalizers) == 0 && ns.DeletionTimestamp != nil {
			return true, ns, tracker.Delete(nsGVR, "", ns.Name)
		}
		return true, ns, tracker.Update(nsGVR, ns, "")
	})
}

func suiteNS(name string, labels map[string]string) *corev1.Namespace {
	l := map[string]string{LabelManagedBy: ManagedBy}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
	}
}

func event(ns, name string) *corev1.Event {
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

func rr(ns, name string, finalizers ...string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("kubernaut.ai/v1alpha1")
	u.SetKind("RemediationRequest")
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetFinalizers(finalizers)
	return u
}

func newDynamic(objs ...runtime.Object) *dynfake.FakeDynamicClient {
	return dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{RemediationRequests: "RemediationRequestList"}, objs...)
}

func namespaces(t *testing.T, cs *fake.Clientset) []string {
	t.Helper()
	list, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	var names []string
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	slices.Sort(names)
	return names
}

func TestDeleteCompletesWithoutANamespaceController(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		terminating bool // a previous delete already left it Terminating
		controller  bool // plain fake: the namespace goes at once
	}{
		{name: "fresh namespace"},
		{name: "already terminating", terminating: true},
		{name: "cluster with a namespace controller", controller: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(suiteNS("e2e-a", nil), suiteNS("other", nil),
				event("e2e-a", "ev1"), event("e2e-a", "ev2"), event("other", "keep"))
			if !tt.controller {
				withoutNamespaceController(cs)
			}
			dyn := newDynamic(rr("e2e-a", "rr-1"), rr("e2e-a", "rr-2", "kubernaut.ai/hold"), rr("other", "rr-keep"))
			if tt.terminating {
				require.NoError(t, cs.CoreV1().Namespaces().Delete(ctx, "e2e-a", metav1.DeleteOptions{}))
				ns, err := cs.CoreV1().Namespaces().Get(ctx, "e2e-a", metav1.GetOptions{})
				require.NoError(t, err, "the emulation keeps a deleted namespace Terminating")
				require.Equal(t, corev1.NamespaceTerminating, ns.Status.Phase)
			}

			require.NoError(t, Delete(ctx, cs, "e2e-a", WithDynamic(dyn)))

			assert.Equal(t, []string{"other"}, namespaces(t, cs))
			other, err := cs.CoreV1().Events("other").List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			assert.Len(t, other.Items, 1, "events elsewhere stay")
			keep, err := dyn.Resource(RemediationRequests).Namespace("other").List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			assert.Len(t, keep.Items, 1, "RemediationRequests elsewhere stay")
			if !tt.controller {
				gone, err := cs.CoreV1().Events("e2e-a").List(ctx, metav1.ListOptions{})
				require.NoError(t, err)
				assert.Empty(t, gone.Items)
				rrs, err := dyn.Resource(RemediationRequests).Namespace("e2e-a").List(ctx, metav1.ListOptions{})
				require.NoError(t, err)
				assert.Empty(t, rrs.Items)
			}
		})
	}
}

func TestDeleteIgnoresAMissingNamespace(t *testing.T) {
	cs := fake.NewClientset()
	withoutNamespaceController(cs)
	require.NoError(t, Delete(context.Background(), cs, "e2e-gone"))
}

func TestDeleteReportsOtherErrors(t *testing.T) {
	cs := fake.NewClientset(suiteNS("e2e-a", nil))
	cs.PrependReactor("delete", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "e2e-a", errors.New("no"))
	})
	err := Delete(context.Background(), cs, "e2e-a")
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err), "wrapped with %%w: %v", err)
	assert.Contains(t, err.Error(), `"e2e-a"`)
}

func TestCreate(t *testing.T) {
	ctx := context.Background()
	g := New("r1")
	tests := []struct {
		name    string
		nsName  string
		labels  map[string]string
		wantErr string
	}{
		{name: "generated", nsName: g.Name("s"), labels: g.Labels("f", "s")},
		{name: "marker added", nsName: "e2e-plain", labels: nil},
		{name: "missing prefix refused", nsName: g.Missing("s"), wantErr: "reserved"},
		{name: "invalid name refused", nsName: "Not_Valid", wantErr: "invalid name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset()
			err := Create(ctx, cs, tt.nsName, tt.labels, g.Annotations("f", "s"))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Empty(t, namespaces(t, cs))
				return
			}
			require.NoError(t, err)
			ns, err := cs.CoreV1().Namespaces().Get(ctx, tt.nsName, metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, ManagedBy, ns.Labels[LabelManagedBy])
			assert.Equal(t, "s", ns.Annotations[AnnotationScenario])
		})
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	old := strconv.FormatInt(time.Now().Add(-2*time.Hour).Unix(), 10)
	fresh := strconv.FormatInt(time.Now().Unix(), 10)
	objects := func() []runtime.Object {
		unmarkedOld := suiteNS("e2e-unmarked-old", map[string]string{LabelCreatedAt: old, LabelRunID: "crashed"})
		delete(unmarkedOld.Labels, LabelManagedBy)
		foreignMarker := suiteNS("e2e-foreign", map[string]string{LabelCreatedAt: old})
		foreignMarker.Labels[LabelManagedBy] = "someone-else"
		oldByTimestamp := suiteNS("e2e-old-ts", nil)
		oldByTimestamp.CreationTimestamp = metav1.NewTime(time.Now().Add(-3 * time.Hour))
		return []runtime.Object{
			suiteNS("e2e-old", map[string]string{LabelCreatedAt: old, LabelRunID: "crashed"}),
			suiteNS("e2e-fresh", map[string]string{LabelCreatedAt: fresh, LabelRunID: "current"}),
			suiteNS("e2e-fresh-2", map[string]string{LabelCreatedAt: fresh, LabelRunID: "current"}),
			suiteNS("e2e-bad-label", map[string]string{LabelCreatedAt: "yesterday"}),
			oldByTimestamp, unmarkedOld, foreignMarker,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}},
		}
	}
	tests := []struct {
		name      string
		olderThan time.Duration
		runID     string
		want      []string
		wantErr   string
	}{
		{name: "by age", olderThan: time.Hour, want: []string{"e2e-old", "e2e-old-ts"}},
		{name: "by run id", runID: "current", want: []string{"e2e-fresh", "e2e-fresh-2"}},
		{name: "by age or run id", olderThan: time.Hour, runID: "current",
			want: []string{"e2e-fresh", "e2e-fresh-2", "e2e-old", "e2e-old-ts"}},
		{name: "unmarked run id is not touched", runID: "crashed", want: []string{"e2e-old"}},
		{name: "no selector", wantErr: "age limit or a run id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset(objects()...)
			withoutNamespaceController(cs)
			before := namespaces(t, cs)
			got, err := Sweep(ctx, cs, tt.olderThan, tt.runID, WithDynamic(newDynamic()))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.Equal(t, before, namespaces(t, cs))
				return
			}
			require.NoError(t, err)
			slices.Sort(got)
			assert.Equal(t, tt.want, got)
			var left []string
			for _, n := range before {
				if !slices.Contains(tt.want, n) {
					left = append(left, n)
				}
			}
			assert.Equal(t, left, namespaces(t, cs))
			assert.Contains(t, left, "e2e-unmarked-old")
			assert.Contains(t, left, "e2e-foreign")
			assert.Contains(t, left, "kube-system")
		})
	}
}
