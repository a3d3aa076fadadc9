package deploy

import (
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

func render(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	objs, err := RenderDefault()
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestRenderDefault: the kustomization a user applies renders to exactly these objects, in the
// namespace the gateway runs in.
func TestRenderDefault(t *testing.T) {
	objs := render(t)
	var got []string
	for _, o := range objs {
		id := o.GetKind() + " " + o.GetName()
		if o.GetNamespace() != "" {
			id = o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
		}
		got = append(got, id)
	}
	sort.Strings(got)
	want := []string{
		"ClusterRole kubernaut-gateway",
		"ClusterRole kubernaut-gateway-metrics-reader",
		"ClusterRole kubernaut-signal-sender",
		"ClusterRoleBinding kubernaut-gateway",
		"CustomResourceDefinition remediationrequests.kubernaut.ai",
		"Deployment kubernaut-system/kubernaut-gateway",
		"Namespace kubernaut-system",
		"PodDisruptionBudget kubernaut-system/kubernaut-gateway",
		"Service kubernaut-system/kubernaut-gateway",
		"ServiceAccount kubernaut-system/kubernaut-gateway",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rendered objects:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if objs[0].GetKind() != "Namespace" {
		t.Errorf("first object is a %s: kustomize puts the Namespace first", objs[0].GetKind())
	}
}

// TestRenderedObjectsAreKnown: every object decodes strictly into a kind client-go knows (the
// CRD included), so a typo in a field fails here rather than at apply time.
func TestRenderedObjectsAreKnown(t *testing.T) {
	for _, o := range render(t) {
		gvk := o.GroupVersionKind()
		if gvk.Kind == "CustomResourceDefinition" {
			if gvk.GroupVersion().String() != "apiextensions.k8s.io/v1" {
				t.Errorf("CRD in %s, want apiextensions.k8s.io/v1", gvk.GroupVersion())
			}
			continue
		}
		typed, err := scheme.Scheme.New(gvk)
		if err != nil {
			t.Errorf("%s %s: not a kind client-go knows: %v", gvk, o.GetName(), err)
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, typed, true); err != nil {
			t.Errorf("%s %s: %v", gvk.Kind, o.GetName(), err)
		}
	}
}

// TestDeploymentIsRestricted evaluates the pod template with the Pod Security admission's own
// checks at restricted/latest: what the API server enforces in the namespace.
func TestDeploymentIsRestricted(t *testing.T) {
	objs := render(t)
	tmpl, err := PodTemplate(objs)
	if err != nil {
		t.Fatal(err)
	}
	if bad := restrictedViolations(t, tmpl); len(bad) > 0 {
		t.Errorf("the gateway's pod template breaks the restricted profile: %s", strings.Join(bad, "; "))
	}
	// The check itself can fail: a privileged copy must break it.
	priv := tmpl.DeepCopy()
	yes := true
	priv.Spec.Containers[0].SecurityContext.Privileged = &yes
	if bad := restrictedViolations(t, priv); len(bad) == 0 {
		t.Error("a privileged copy passes the restricted checks: the check checks nothing")
	}

	ns, err := Find(objs, "Namespace", Namespace)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"enforce", "audit", "warn"} {
		if got := ns.GetLabels()["pod-security.kubernetes.io/"+mode]; got != "restricted" {
			t.Errorf("namespace label pod-security.kubernetes.io/%s = %q, want restricted", mode, got)
		}
	}
}

func restrictedViolations(t *testing.T, tmpl *corev1.PodTemplateSpec) []string {
	t.Helper()
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	var bad []string
	for _, r := range eval.EvaluatePod(lv, &tmpl.ObjectMeta, &tmpl.Spec) {
		if !r.Allowed {
			bad = append(bad, r.ForbiddenReason+": "+r.ForbiddenDetail)
		}
	}
	return bad
}

// TestDeploymentShape pins what the rest of the system relies on: the ServiceAccount the RBAC
// binds, the probes' paths and port, the identity the image runs as, the image name users
// override, resources, the Service's port and the disruption budget.
func TestDeploymentShape(t *testing.T) {
	objs := render(t)
	d, err := Deployment(objs)
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != "kubernaut-gateway" {
		t.Errorf("serviceAccountName %q, want kubernaut-gateway", pod.ServiceAccountName)
	}
	if len(pod.Containers) != 1 || pod.Containers[0].Name != "gateway" {
		t.Fatalf("containers %+v, want one named gateway", pod.Containers)
	}
	c := pod.Containers[0]
	if c.Image != "kubernaut-gateway:latest" || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image %q pull %q, want kubernaut-gateway:latest IfNotPresent", c.Image, c.ImagePullPolicy)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port != intstr.FromString("https") ||
			p.HTTPGet.Scheme != corev1.URISchemeHTTPS {
			t.Errorf("%s: %+v, want httpGet %s on port https, scheme HTTPS", name, p, path)
		}
	}
	probe("readinessProbe", c.ReadinessProbe, "/readyz")
	probe("livenessProbe", c.LivenessProbe, "/healthz")
	if len(c.Ports) != 1 || c.Ports[0].Name != "https" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("ports %+v, want https 8080", c.Ports)
	}
	// The serving certificate: the Secret kubernaut-gateway-tls, mounted read-only where the
	// args read it.
	for _, arg := range []string{"--tls-cert-file=/var/run/kubernaut-gateway/tls/tls.crt", "--tls-private-key-file=/var/run/kubernaut-gateway/tls/tls.key"} {
		if !slices.Contains(c.Args, arg) {
			t.Errorf("args %q, want %s", c.Args, arg)
		}
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/var/run/kubernaut-gateway/tls" || !c.VolumeMounts[0].ReadOnly {
		t.Errorf("volumeMounts %+v, want one, read-only at /var/run/kubernaut-gateway/tls", c.VolumeMounts)
	} else if len(pod.Volumes) != 1 || pod.Volumes[0].Name != c.VolumeMounts[0].Name || pod.Volumes[0].Secret == nil ||
		pod.Volumes[0].Secret.SecretName != "kubernaut-gateway-tls" || pod.Volumes[0].Secret.Optional == nil || *pod.Volumes[0].Secret.Optional {
		t.Errorf("volumes %+v, want the mounted one from Secret kubernaut-gateway-tls, optional: false", pod.Volumes)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 65532 || sc.RunAsGroup == nil || *sc.RunAsGroup != 65532 ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("container securityContext %+v, want 65532:65532 and a read-only root file system", sc)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("no %s limit", r)
		}
	}

	svc := typed[corev1.Service](t, objs, "Service")
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "https" || svc.Spec.Ports[0].Port != 8080 ||
		svc.Spec.Ports[0].TargetPort != intstr.FromString("https") {
		t.Errorf("Service ports %+v, want https 8080 -> https", svc.Spec.Ports)
	}
	if svc.Spec.Selector["app.kubernetes.io/name"] != d.Spec.Template.Labels["app.kubernetes.io/name"] {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	pdb := typed[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget")
	if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) {
		t.Errorf("PDB maxUnavailable %v, want 1", pdb.Spec.MaxUnavailable)
	}
	if pdb.Spec.Selector == nil || pdb.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "kubernaut-gateway" {
		t.Errorf("PDB selector %v, want the gateway's pods", pdb.Spec.Selector)
	}
}

func typed[T any](t *testing.T, objs []*unstructured.Unstructured, kind string) *T {
	t.Helper()
	u, err := Find(objs, kind, Name)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func TestTransforms(t *testing.T) {
	tests := []struct {
		name  string
		apply func([]*unstructured.Unstructured) error
		check func(*testing.T, []*unstructured.Unstructured, *appsv1.Deployment)
	}{
		{"SetImage", func(o []*unstructured.Unstructured) error { return SetImage(o, "kubernaut-gateway:0123456789ab") },
			func(t *testing.T, _ []*unstructured.Unstructured, d *appsv1.Deployment) {
				if got := d.Spec.Template.Spec.Containers[0].Image; got != "kubernaut-gateway:0123456789ab" {
					t.Errorf("image %q", got)
				}
			}},
		{"SetReplicas", func(o []*unstructured.Unstructured) error { return SetReplicas(o, 1) },
			func(t *testing.T, _ []*unstructured.Unstructured, d *appsv1.Deployment) {
				if *d.Spec.Replicas != 1 {
					t.Errorf("replicas %d", *d.Spec.Replicas)
				}
			}},
		{"SetArg replaces", func(o []*unstructured.Unstructured) error { return SetArg(o, "shutdown-delay", "1s") },
			func(t *testing.T, _ []*unstructured.Unstructured, d *appsv1.Deployment) {
				args := d.Spec.Template.Spec.Containers[0].Args
				if !slices.Contains(args, "--shutdown-delay=1s") || slices.Contains(args, "--shutdown-delay=5s") {
					t.Errorf("args %q", args)
				}
			}},
		{"SetArg adds", func(o []*unstructured.Unstructured) error { return SetArg(o, "kube-qps", "50") },
			func(t *testing.T, _ []*unstructured.Unstructured, d *appsv1.Deployment) {
				args := d.Spec.Template.Spec.Containers[0].Args
				if args[len(args)-1] != "--kube-qps=50" {
					t.Errorf("args %q", args)
				}
			}},
		{"SetNamespace", func(o []*unstructured.Unstructured) error { return SetNamespace(o, "gw-run-1") },
			func(t *testing.T, objs []*unstructured.Unstructured, d *appsv1.Deployment) {
				if d.Namespace != "gw-run-1" {
					t.Errorf("Deployment in %q", d.Namespace)
				}
				if _, err := Find(objs, "Namespace", "gw-run-1"); err != nil {
					t.Error(err)
				}
				for _, o := range objs {
					if o.GetNamespace() == Namespace {
						t.Errorf("%s %s still in %s", o.GetKind(), o.GetName(), Namespace)
					}
				}
				crb, err := Find(objs, "ClusterRoleBinding", Name)
				if err != nil {
					t.Fatal(err)
				}
				subjects, _, _ := unstructured.NestedSlice(crb.Object, "subjects")
				if ns := subjects[0].(map[string]any)["namespace"]; ns != "gw-run-1" {
					t.Errorf("binding subject in %v", ns)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t)
			if err := tc.apply(objs); err != nil {
				t.Fatal(err)
			}
			d, err := Deployment(objs)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, objs, d)
		})
	}
	if err := SetNamespace(render(t), ""); err == nil {
		t.Error("SetNamespace accepted an empty namespace")
	}
}
