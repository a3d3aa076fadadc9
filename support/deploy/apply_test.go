package deploy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/poll"
)

// controllersTimeout bounds the waits for kube-controller-manager's work (a ReplicaSet, its Pods
// or its failure): seconds on an idle machine, more on a loaded one.
const controllersTimeout = 2 * time.Minute

// TestApplyToControlPlane applies gateway/config/default to the embedded control plane (with
// kube-controller-manager) and checks that the API server admits the gateway's Pods in the
// namespace that enforces the restricted profile, and refuses those of a privileged copy. The
// Pods stay Pending: the control plane has no nodes.
func TestApplyToControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded control plane; skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	p, err := cluster.New(cluster.NameLocal, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	cfg := c.RESTConfig()
	cs := kubernetes.NewForConfigOrDie(cfg)
	bounds := poll.Defaults()

	objs := render(t)
	if err := Apply(ctx, cfg, objs, ""); err != nil {
		t.Fatal(err)
	}
	// A second apply of the same objects changes nothing and must not conflict.
	if err := Apply(ctx, cfg, objs, ""); err != nil {
		t.Fatalf("applying again: %v", err)
	}
	d, err := cs.AppsV1().Deployments(Namespace).Get(ctx, Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the Deployment was not created: %v", err)
	}
	if d.Spec.Template.Spec.Containers[0].Image != "kubernaut-gateway:latest" {
		t.Errorf("applied image %q", d.Spec.Template.Spec.Containers[0].Image)
	}

	t.Run("the gateway's Pods are admitted", func(t *testing.T) {
		err := bounds.Until(ctx, controllersTimeout, "2 gateway Pods", func(ctx context.Context) (bool, string, error) {
			pods, err := cs.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + Name})
			if err != nil {
				return false, "", err
			}
			return len(pods.Items) == 2, fmt.Sprintf("%d Pods; ReplicaSets: %s", len(pods.Items), replicaSets(ctx, cs, Name)), nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a privileged copy gets no Pod", func(t *testing.T) {
		const bad = "kubernaut-gateway-privileged"
		priv, err := privilegedCopy(objs, bad)
		if err != nil {
			t.Fatal(err)
		}
		if err := Apply(ctx, cfg, []*unstructured.Unstructured{priv}, ""); err != nil {
			t.Fatalf("the Deployment itself is not a Pod and must be accepted: %v", err)
		}
		err = bounds.Until(ctx, controllersTimeout, "the ReplicaSet of "+bad+" to fail creating Pods under restricted",
			func(ctx context.Context) (bool, string, error) {
				seen := replicaSets(ctx, cs, bad)
				return strings.Contains(seen, "ReplicaFailure") && strings.Contains(seen, "restricted"), seen, nil
			})
		if err != nil {
			t.Fatal(err)
		}
		events, err := cs.CoreV1().Events(Namespace).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedCreate"})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range events.Items {
			if strings.HasPrefix(e.InvolvedObject.Name, bad) && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "restricted") {
				found = true
			}
		}
		if !found {
			t.Errorf("no FailedCreate Warning naming restricted for %s among %d FailedCreate events", bad, len(events.Items))
		}
		pods, err := cs.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + bad})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != 0 {
			t.Errorf("%d Pods of the privileged copy were admitted", len(pods.Items))
		}
	})

	if err := Delete(ctx, cfg, objs); err != nil {
		t.Errorf("Delete: %v", err)
	}
}

// privilegedCopy is the gateway's Deployment under another name and pod label (so the Service and
// the PDB do not take its Pods), with a privileged container.
func privilegedCopy(objs []*unstructured.Unstructured, name string) (*unstructured.Unstructured, error) {
	d, err := Deployment(objs)
	if err != nil {
		return nil, err
	}
	d = d.DeepCopy()
	d.Name = name
	d.Labels = map[string]string{"app.kubernetes.io/name": name}
	d.Spec.Selector.MatchLabels = map[string]string{"app.kubernetes.io/name": name}
	d.Spec.Template.Labels = map[string]string{"app.kubernetes.io/name": name}
	yes := true
	d.Spec.Template.Spec.Containers[0].SecurityContext.Privileged = &yes
	d.Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = &yes
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(appsv1.SchemeGroupVersion.WithKind("Deployment"))
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	return u, nil
}

// replicaSets describes the ReplicaSets of the Deployment name and their conditions, for the
// polls' messages.
func replicaSets(ctx context.Context, cs kubernetes.Interface, name string) string {
	list, err := cs.AppsV1().ReplicaSets(Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + name})
	if err != nil {
		return "listing ReplicaSets: " + err.Error()
	}
	if len(list.Items) == 0 {
		return "no ReplicaSet"
	}
	var parts []string
	for _, rs := range list.Items {
		s := fmt.Sprintf("%s (%d/%d)", rs.Name, rs.Status.Replicas, *rs.Spec.Replicas)
		for _, c := range rs.Status.Conditions {
			s += fmt.Sprintf(" %s=%s: %s", c.Type, c.Status, c.Message)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
