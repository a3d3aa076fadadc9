package steps

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

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
	if err := deploy.Apply(ctx, st.h.Admin(), namespaced, "gateway-contract-e2e"); err != nil {
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

// replacementPace is how often each sender sends a new alert while the gateway is replaced:
// several alerts fall into each phase of the replacement (before SIGTERM, during the drain,
// while nothing listens, after the new gateway is ready).
const replacementPace = 250 * time.Millisecond

// replacementKey holds, in the context of the steps that follow, what the direct sender sent
// while the gateway was replaced.
type replacementKey struct{}

// directSender sends a new alert every replacementPace straight to the gateway, one per request,
// and plays Alertmanager's redelivery itself: a refused alert (a 5xx, or no answer: nothing
// listens) is sent again on the next tick until it is answered 2xx. Unlike Alertmanager, which
// resends a group's firing alerts with every notification, it never sends an acknowledged alert
// again, so an alert acknowledged but not stored stays lost, and the check sees it.
type directSender struct {
	namespace string // where its alerts go: not the Alertmanager's, whose check allows nothing else
	mu        sync.Mutex
	acked     []string // alert names answered 2xx, in order
	refusals  int
	sendErr   error
}

func (d *directSender) run(ctx context.Context, st *scenario, stop <-chan struct{}) {
	tick := time.NewTicker(replacementPace)
	defer tick.Stop()
	var pending *sentRequest
	var pendingName string
	for i := 1; ; {
		if pending == nil {
			a, err := st.newAlert(fmt.Sprintf("Direct%03d", i), "warning", "pod", "api-7f9c")
			if err != nil {
				d.fail(err)
				return
			}
			a.namespace = d.namespace
			req := jsonRequest(alertPath, notification([]alert{a}, time.Now()))
			pending, pendingName = &req, a.name
			i++
		}
		r, err := st.sendOnce(ctx, *pending)
		d.mu.Lock()
		switch {
		case err == nil && r.code >= 200 && r.code < 300:
			d.acked = append(d.acked, pendingName)
			pending = nil
		case err == nil && r.code < 500:
			d.sendErr = fmt.Errorf("%s was answered %s: a replacement refuses with 5xx or not at all", pendingName, r)
		default:
			d.refusals++ // redelivered on the next tick
		}
		failed := d.sendErr != nil
		d.mu.Unlock()
		if failed {
			return
		}
		select {
		case <-stop:
			if pending == nil {
				return
			}
		case <-ctx.Done():
			d.fail(ctx.Err())
			return
		case <-tick.C:
		}
	}
}

func (d *directSender) fail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sendErr = err
}

func (d *directSender) ackedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.acked)
}

// replacedWhileSending keeps two senders sending from before the gateway is replaced until after
// its successor is ready: the real Alertmanager (a new alert fired every replacementPace) and a
// direct sender (directSender). The runtime stops the running gateway (SIGTERM, then its grace
// period) and starts a new one from the same configuration on the same address, as a Service
// with one ready endpoint gives. The direct sender's last refused alert is redelivered until it is
// accepted, bounded by the suite's request bound.
func replacedWhileSending(ctx context.Context) (context.Context, error) {
	st := state(ctx)
	gw, err := st.dedicated()
	if err != nil {
		return ctx, err
	}
	var (
		mu      sync.Mutex
		fired   int
		fireErr error
	)
	count := func() int { mu.Lock(); defer mu.Unlock(); return fired }
	stop, firing := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(firing)
		tick := time.NewTicker(replacementPace)
		defer tick.Stop()
		for i := 1; ; i++ {
			a, err := st.newAlert(fmt.Sprintf("Replacement%03d", i), "warning", "pod", "api-7f9c")
			if err == nil {
				err = st.fire(ctx, []alert{a})
			}
			mu.Lock()
			if err != nil {
				fireErr = fmt.Errorf("firing alert %d through Alertmanager: %w", i, err)
			} else {
				fired++
			}
			mu.Unlock()
			if err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	st.mu.Lock()
	second := st.second
	st.mu.Unlock()
	if second == "" {
		return ctx, fmt.Errorf("the direct sender sends to the scenario's second namespace: add 'And a second namespace for this scenario'")
	}
	direct := &directSender{namespace: second}
	directDone := make(chan struct{})
	go func() { defer close(directDone); direct.run(ctx, st, stop) }()
	atLeast := func(n int) error {
		return st.bounds().Await(ctx, fmt.Sprintf("%d alerts fired through Alertmanager and %d acknowledged to the direct sender", n, n), func(context.Context) (bool, string, error) {
			select {
			case <-firing:
				return false, "", fmt.Errorf("the Alertmanager sender stopped after %d alerts", count())
			case <-directDone:
				return false, "", fmt.Errorf("the direct sender stopped after %d acknowledged alerts", direct.ackedCount())
			default:
			}
			return count() >= n && direct.ackedCount() >= n, fmt.Sprintf("%d fired, %d acknowledged", count(), direct.ackedCount()), nil
		})
	}
	err = atLeast(3)
	if err == nil {
		err = gw.Restart(ctx, false)
	}
	if err == nil {
		err = atLeast(max(count(), direct.ackedCount()) + 3)
	}
	close(stop)
	<-firing
	doneErr := st.bounds().Until(ctx, st.bounds().Request, "the direct sender's last alert to be accepted", func(context.Context) (bool, string, error) {
		select {
		case <-directDone:
			return true, "", nil
		default:
			return false, fmt.Sprintf("%d acknowledged", direct.ackedCount()), nil
		}
	})
	mu.Lock()
	defer mu.Unlock()
	direct.mu.Lock()
	defer direct.mu.Unlock()
	for _, e := range []error{err, fireErr, direct.sendErr, doneErr} {
		if e != nil {
			return ctx, e
		}
	}
	fmt.Printf("e2e: scenario %q: during the replacement Alertmanager fired %d alerts; the direct sender had %d acknowledged and %d refusals redelivered\n",
		st.name, fired, len(direct.acked), direct.refusals)
	return context.WithValue(ctx, replacementKey{}, append([]string(nil), direct.acked...)), nil
}

// directStoredOnce checks from the cluster that every alert acknowledged (2xx) to the direct
// sender during the replacement has exactly one remediation request.
func directStoredOnce(ctx context.Context) error {
	st := state(ctx)
	acked, ok := ctx.Value(replacementKey{}).([]string)
	if !ok {
		return fmt.Errorf("no replacement ran: the scenario must first replace the gateway while senders send")
	}
	return st.bounds().Await(ctx, fmt.Sprintf("each of the %d alerts acknowledged to the direct sender to be stored once", len(acked)), func(ctx context.Context) (bool, string, error) {
		st.mu.Lock()
		second := st.second
		st.mu.Unlock()
		items, err := st.list(ctx, second)
		if err != nil {
			return false, "", err
		}
		byName := map[string]int{}
		for _, rr := range items {
			byName[rr.Spec.SignalName]++
		}
		if len(items) != len(acked) {
			return false, "", fmt.Errorf("namespace %s holds %d remediation requests for %d alerts acknowledged to the direct sender", second, len(items), len(acked))
		}
		var missing []string
		for _, name := range acked {
			switch byName[name] {
			case 0:
				missing = append(missing, name)
			case 1:
			default:
				return false, "", fmt.Errorf("%s, acknowledged once, has %d remediation requests", name, byName[name])
			}
		}
		if len(missing) > 0 {
			return false, fmt.Sprintf("acknowledged but not stored: %v", missing), nil
		}
		return true, "", nil
	})
}
