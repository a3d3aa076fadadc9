package steps

import (
	"context"
	"fmt"
	"strings"

	"github.com/cucumber/godog"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"

	"github.com/kubernaut/gateway-contract/support/deploy"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// Steps about the shipped manifests (gateway/config/default) and the replacement of a running
// gateway: what a user deploys, and what a rollout does to signals in flight.
func registerDeploymentSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the shipped gateway manifests are applied to the scenario's namespace( with the gateway's container made privileged)?$`, applyManifests)
	sc.Step(`^the API server admits the gateway's Pods under the restricted Pod Security level$`, podsAdmitted)
	sc.Step(`^the API server refuses the gateway's Pods, naming the restricted Pod Security level$`, podsRefused)
	sc.Step(`^Alertmanager and a direct sender keep sending new alerts while the gateway is replaced$`, replacedWhileSending)
	sc.Step(`^every alert acknowledged to the direct sender has exactly one remediation request$`, directStoredOnce)
}

// manifestsKey holds, in the context of the steps that follow, the Deployment that
// applyManifests applied.
type manifestsKey struct{}

// applyManifests renders gateway/config/default and applies its namespaced objects (the
// ServiceAccount, the Deployment, its Service and PodDisruptionBudget) to the scenario's
// namespace, with the Pod Security labels of the shipped Namespace: the same admission a user's
// cluster applies, without touching the run's own gateway namespace. The scenario's namespace
// and everything in it go at its end. privileged makes the copy break the restricted level.
func applyManifests(ctx context.Context, privileged string) (context.Context, error) {
	st := state(ctx)
	dir, err := repo.Path("gateway", "config", "default")
	if err != nil {
		return ctx, err
	}
	objs, err := deploy.Render(dir)
	if err != nil {
		return ctx, err
	}
	nsObj, err := deploy.Find(objs, "Namespace", deploy.Namespace)
	if err != nil {
		return ctx, err
	}
	if nsObj.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		return ctx, fmt.Errorf("the shipped Namespace %s enforces %q, not the restricted Pod Security level", nsObj.GetName(), nsObj.GetLabels()["pod-security.kubernetes.io/enforce"])
	}
	ns, err := st.kube().CoreV1().Namespaces().Get(ctx, st.ns, metav1.GetOptions{})
	if err != nil {
		return ctx, err
	}
	for k, v := range nsObj.GetLabels() {
		if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
			ns.Labels[k] = v
		}
	}
	if _, err := st.kube().CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		return ctx, fmt.Errorf("labelling namespace %s with the shipped Pod Security level: %w", st.ns, err)
	}
	var namespaced []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetNamespace() != "" {
			namespaced = append(namespaced, o)
		}
	}
	if err := deploy.SetNamespace(namespaced, st.ns); err != nil {
		return ctx, err
	}
	if privileged != "" {
		if err := makePrivileged(namespaced); err != nil {
			return ctx, err
		}
	}
	dep, err := deploy.Deployment(namespaced)
	if err != nil {
		return ctx, err
	}
	if err := deploy.Apply(ctx, st.run.Admin(), namespaced, "gateway-contract-e2e"); err != nil {
		return ctx, fmt.Errorf("applying the shipped manifests to %s: %w", st.ns, err)
	}
	return context.WithValue(ctx, manifestsKey{}, dep), nil
}

// makePrivileged turns the Deployment's container privileged and root, as a careless edit of the
// manifest would.
func makePrivileged(objs []*unstructured.Unstructured) error {
	o, err := deploy.Find(objs, "Deployment", deploy.Name)
	if err != nil {
		return err
	}
	containers, _, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
	if err != nil || len(containers) == 0 {
		return fmt.Errorf("the Deployment has no containers (%v)", err)
	}
	c := containers[0].(map[string]any)
	c["securityContext"] = map[string]any{"privileged": true, "runAsUser": int64(0), "runAsNonRoot": false, "allowPrivilegeEscalation": true}
	containers[0] = c
	if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return err
	}
	unstructured.RemoveNestedField(o.Object, "spec", "template", "spec", "securityContext")
	return nil
}

func appliedDeployment(ctx context.Context) (*appsv1.Deployment, error) {
	dep, ok := ctx.Value(manifestsKey{}).(*appsv1.Deployment)
	if !ok {
		return nil, fmt.Errorf("no manifests were applied: the scenario must first say 'the shipped gateway manifests are applied to the scenario's namespace'")
	}
	return dep, nil
}

// podsAdmitted waits until the Deployment's ReplicaSet has created as many Pods as it has
// replicas: the API server admitted each under the namespace's restricted level. With no nodes
// they stay Pending; the suite's own runtime runs their container.
func podsAdmitted(ctx context.Context) error {
	st := state(ctx)
	dep, err := appliedDeployment(ctx)
	if err != nil {
		return err
	}
	want := int(ptr.Deref(dep.Spec.Replicas, 1))
	selector := metav1.FormatLabelSelector(dep.Spec.Selector)
	return st.bounds().Await(ctx, fmt.Sprintf("%d Pods of the Deployment %s to be admitted in %s", want, dep.Name, st.ns), func(ctx context.Context) (bool, string, error) {
		pods, err := st.kube().CoreV1().Pods(st.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, "", err
		}
		for _, p := range pods.Items {
			if err := restrictedPod(&p); err != nil {
				return false, "", err
			}
		}
		return len(pods.Items) >= want, fmt.Sprintf("%d Pods; %s", len(pods.Items), failedCreate(ctx, st, st.ns)), nil
	})
}

// restrictedPod checks the admitted Pod for what the restricted level demands, as stored by the
// API server: non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp.
func restrictedPod(p *corev1.Pod) error {
	if p.Spec.SecurityContext == nil || !ptr.Deref(p.Spec.SecurityContext.RunAsNonRoot, false) {
		return fmt.Errorf("Pod %s does not run as non-root", p.Name)
	}
	if sp := p.Spec.SecurityContext.SeccompProfile; sp == nil || sp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		return fmt.Errorf("Pod %s has no RuntimeDefault seccomp profile", p.Name)
	}
	for _, c := range p.Spec.Containers {
		sc := c.SecurityContext
		if sc == nil || ptr.Deref(sc.AllowPrivilegeEscalation, true) || !ptr.Deref(sc.ReadOnlyRootFilesystem, false) {
			return fmt.Errorf("container %s of Pod %s may escalate privileges or write its root filesystem", c.Name, p.Name)
		}
		if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			return fmt.Errorf("container %s of Pod %s does not drop ALL capabilities", c.Name, p.Name)
		}
	}
	return nil
}

// podsRefused waits until the ReplicaSet reports that the API server refused its Pods because of
// the restricted level (its ReplicaFailure condition, or the controller's FailedCreate Warning),
// and checks that no Pod exists.
func podsRefused(ctx context.Context) error {
	st := state(ctx)
	dep, err := appliedDeployment(ctx)
	if err != nil {
		return err
	}
	selector := metav1.FormatLabelSelector(dep.Spec.Selector)
	err = st.bounds().Await(ctx, "the API server to refuse the privileged Pods of "+dep.Name+", naming the restricted level", func(ctx context.Context) (bool, string, error) {
		why := failedCreate(ctx, st, st.ns)
		rss, err := st.kube().AppsV1().ReplicaSets(st.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, "", err
		}
		for _, rs := range rss.Items {
			for _, c := range rs.Status.Conditions {
				if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
					why += "; ReplicaFailure: " + c.Message
				}
			}
		}
		return strings.Contains(why, `violates PodSecurity "restricted`), why, nil
	})
	if err != nil {
		return err
	}
	pods, err := st.kube().CoreV1().Pods(st.ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return err
	}
	if len(pods.Items) > 0 {
		return fmt.Errorf("the API server refused Pods of the privileged copy, yet %d exist, e.g. %s", len(pods.Items), pods.Items[0].Name)
	}
	return nil
}

// failedCreate is the controller's latest FailedCreate Warning in namespace, or that there is none.
func failedCreate(ctx context.Context, st *scenario, namespace string) string {
	events, err := st.kube().CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedCreate"})
	if err != nil {
		return "events: " + err.Error()
	}
	if len(events.Items) == 0 {
		return "no FailedCreate event"
	}
	return "FailedCreate: " + events.Items[len(events.Items)-1].Message
}
