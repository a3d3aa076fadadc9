package harness

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/client"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/support/deploy"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/pki"
	"github.com/kubernaut/gateway-contract/support/poll"
	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// FieldManager is the suite's server-side apply field manager.
const FieldManager = "gateway-contract-e2e"

// deployment is gateway/config/default applied to one cluster: the Deployment's Pod template,
// which the container runtime runs, and a Pod of it that the API server admitted, to which each
// container's token is bound.
type deployment struct {
	kube      kubernetes.Interface
	docker    *client.Client
	image     string
	namespace string
	account   string
	container corev1.Container
	user      string
	grace     time.Duration
	pod       metav1.Object
	selector  string // the Deployment's Pods, as a label selector
	port      int    // the container's serving port
	// tlsSecret is the Secret the template's serving certificate comes from, and tlsMount where
	// the container mounts it: the suite mounts a gateway's certificate directory there.
	tlsSecret, tlsMount string
	secretPair          pki.Pair // the certificate in that Secret
}

// deployGateway renders gateway/config/default with the run's image, applies it with server-side
// apply, and waits until the Deployment's ReplicaSet has created a Pod: the API server admitted
// it under the namespace's Pod Security level. On a cluster without nodes the Pods stay Pending;
// the suite runs their container itself. args ("--flag=value") replace or join the template's.
// What the apply created, but the namespace and the CRD (which the harness owns), is deleted
// through undo.
func (h *Harness) deployGateway(ctx context.Context, admin *rest.Config, kube kubernetes.Interface, undo *lifecycle.Stack, args []string) (*deployment, error) {
	dir, err := repo.Path("gateway", "config", "default")
	if err != nil {
		return nil, err
	}
	objs, err := deploy.Render(dir)
	if err != nil {
		return nil, err
	}
	if err := deploy.SetImage(objs, h.image); err != nil {
		return nil, err
	}
	for _, a := range args {
		flag, value, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if err := deploy.SetArg(objs, flag, value); err != nil {
			return nil, err
		}
	}
	var owned []*unstructured.Unstructured
	for _, o := range objs {
		if k := o.GetKind(); k != "Namespace" && k != "CustomResourceDefinition" {
			owned = append(owned, o)
		}
	}
	// Registered before the apply: an apply that fails half-way leaves nothing behind either
	// (Delete ignores what is not there).
	undo.Push("the objects of "+dir, func(ctx context.Context) error { return deploy.Delete(ctx, admin, owned) })
	if err := deploy.Apply(ctx, admin, objs, FieldManager); err != nil {
		return nil, fmt.Errorf("applying %s: %w", dir, err)
	}
	dep, err := deploy.Deployment(objs)
	if err != nil {
		return nil, err
	}
	d := &deployment{kube: kube, docker: h.docker, image: h.image, namespace: dep.Namespace, account: dep.Spec.Template.Spec.ServiceAccountName}
	if err := d.readTemplate(&dep.Spec.Template); err != nil {
		return nil, err
	}
	if err := h.applyTLSSecret(ctx, kube, d, serviceHosts(objs), undo); err != nil {
		return nil, err
	}
	d.selector = metav1.FormatLabelSelector(dep.Spec.Selector)
	if err := h.awaitAdmission(ctx, d, dep.Name); err != nil {
		return nil, err
	}
	fmt.Fprintf(h.log, "harness: applied %s; the API server admitted Pod %s/%s (it stays %s without nodes: the suite runs its container)\n",
		dir, d.namespace, d.pod.GetName(), podPhase(d.pod))
	return d, nil
}

// awaitAdmission waits until the Deployment's ReplicaSet has a Pod that the API server admitted,
// and keeps it in d; a timeout names the refusal the controller reported, if any.
func (h *Harness) awaitAdmission(ctx context.Context, d *deployment, name string) error {
	what := fmt.Sprintf("the API server to admit a Pod of the Deployment %s/%s (selector %s)", d.namespace, name, d.selector)
	return h.Settings.Timeouts.Until(ctx, h.Settings.Timeouts.Eventually, what, func(ctx context.Context) (bool, string, error) {
		pods, err := d.kube.CoreV1().Pods(d.namespace).List(ctx, metav1.ListOptions{LabelSelector: d.selector})
		if err != nil {
			return false, err.Error(), nil
		}
		for i := range pods.Items {
			if pods.Items[i].DeletionTimestamp == nil {
				d.pod = &pods.Items[i]
				return true, "", nil
			}
		}
		return false, "no Pod; " + refusal(ctx, d.kube, d.namespace), nil
	})
}

// readTemplate takes what a kubelet needs of the gateway's container from the Pod template.
func (d *deployment) readTemplate(t *corev1.PodTemplateSpec) error {
	if len(t.Spec.Containers) != 1 {
		return fmt.Errorf("the gateway's Pod template has %d containers; the suite runs exactly one", len(t.Spec.Containers))
	}
	d.container = t.Spec.Containers[0]
	if len(d.container.Ports) == 0 {
		return fmt.Errorf("the gateway's container declares no port")
	}
	d.port = int(d.container.Ports[0].ContainerPort)
	for _, e := range d.container.Env {
		if e.ValueFrom != nil {
			return fmt.Errorf("the gateway container's env %s comes from %v; the suite runs only literal values", e.Name, e.ValueFrom)
		}
	}
	if err := d.readVolumes(t); err != nil {
		return err
	}
	uid, gid := int64(-1), int64(-1)
	if psc := t.Spec.SecurityContext; psc != nil {
		uid, gid = deref(psc.RunAsUser, uid), deref(psc.RunAsGroup, gid)
	}
	if csc := d.container.SecurityContext; csc != nil {
		uid, gid = deref(csc.RunAsUser, uid), deref(csc.RunAsGroup, gid)
	}
	if uid < 0 {
		return fmt.Errorf("the gateway's Pod template names no runAsUser; the restricted level needs a non-root user")
	}
	d.user = strconv.FormatInt(uid, 10)
	if gid >= 0 {
		d.user += ":" + strconv.FormatInt(gid, 10)
	}
	d.grace = 30 * time.Second // the API's default
	if g := t.Spec.TerminationGracePeriodSeconds; g != nil {
		d.grace = time.Duration(*g) * time.Second
	}
	return nil
}

// readVolumes finds the one volume the suite projects, the serving certificate's Secret, and
// where the container mounts it; any other volume the suite could not give the container as a
// kubelet would, so it is refused.
func (d *deployment) readVolumes(t *corev1.PodTemplateSpec) error {
	volumes := map[string]corev1.Volume{}
	for _, v := range t.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range d.container.VolumeMounts {
		v, ok := volumes[m.Name]
		switch {
		case !ok:
			return fmt.Errorf("the gateway container mounts %s, which the Pod template does not declare", m.Name)
		case v.Secret == nil:
			return fmt.Errorf("the gateway container mounts volume %s, which is not a Secret; the suite projects only the serving certificate's Secret", m.Name)
		case d.tlsSecret != "":
			return fmt.Errorf("the gateway container mounts two Secrets (%s, %s); the suite projects only the serving certificate's", d.tlsSecret, v.Secret.SecretName)
		}
		d.tlsSecret, d.tlsMount = v.Secret.SecretName, m.MountPath
	}
	if d.tlsSecret == "" {
		return fmt.Errorf("the gateway's Pod template mounts no Secret with its serving certificate (tls.crt, tls.key); the gateway would serve plain HTTP")
	}
	return nil
}

// applyTLSSecret creates (or replaces) the template's certificate Secret, a kubernetes.io/tls
// Secret of a certificate from the run's CA, so that the applied Deployment is complete as a
// cluster would run it. The containers the suite runs get their own certificate, mounted where
// this one would be.
func (h *Harness) applyTLSSecret(ctx context.Context, kube kubernetes.Interface, d *deployment, hosts []string, undo *lifecycle.Stack) error {
	pair, err := h.IssueGatewayCertificate("kubernaut-gateway", hosts...)
	if err != nil {
		return err
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: d.tlsSecret, Namespace: d.namespace},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: pair.CertPEM, corev1.TLSPrivateKeyKey: pair.KeyPEM},
	}
	secrets := kube.CoreV1().Secrets(d.namespace)
	_, err = secrets.Create(ctx, secret, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{FieldManager: FieldManager})
	}
	if err != nil {
		return fmt.Errorf("the Secret %s/%s of the gateway's serving certificate: %w", d.namespace, d.tlsSecret, err)
	}
	d.secretPair = pair
	undo.Push("the Secret "+d.namespace+"/"+d.tlsSecret, func(ctx context.Context) error {
		err := secrets.Delete(ctx, d.tlsSecret, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
	return nil
}

// serviceHosts are the DNS names of the rendered Services, as a certificate for the gateway
// behind them names them: <name>.<namespace>.svc and its cluster.local form.
func serviceHosts(objs []*unstructured.Unstructured) []string {
	var hosts []string
	for _, o := range objs {
		if o.GetKind() == "Service" {
			svc := o.GetName() + "." + o.GetNamespace() + ".svc"
			hosts = append(hosts, svc, svc+".cluster.local")
		}
	}
	return hosts
}

// env is the template's environment as KEY=VALUE.
func (d *deployment) env() []string {
	var env []string
	for _, e := range d.container.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}

// token requests a token for the template's ServiceAccount bound to the admitted Pod, as the
// kubelet's projected volume does: it is valid while that Pod exists.
func (d *deployment) token(ctx context.Context) (string, error) {
	expiry := int64((2 * time.Hour).Seconds())
	tr, err := d.kube.CoreV1().ServiceAccounts(d.namespace).CreateToken(ctx, d.account, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{
			ExpirationSeconds: &expiry,
			BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: d.pod.GetName(), UID: types.UID(d.pod.GetUID())},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("a token for %s/%s bound to Pod %s: %w", d.namespace, d.account, d.pod.GetName(), err)
	}
	return tr.Status.Token, nil
}

// identity is the gateway's identity as the API server names it.
func (d *deployment) identity() *gatewayproc.Identity {
	return &gatewayproc.Identity{Namespace: d.namespace, ServiceAccount: d.account}
}

// refusal is the latest FailedCreate Warning in namespace, which names why the API server refused
// a Pod (the Pod Security level it violates), or that there is none yet.
func refusal(ctx context.Context, kube kubernetes.Interface, namespace string) string {
	events, err := kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedCreate"})
	if err != nil || len(events.Items) == 0 {
		return "no FailedCreate event"
	}
	last := events.Items[len(events.Items)-1]
	return "FailedCreate: " + strings.TrimSpace(last.Message)
}

func podPhase(o metav1.Object) string {
	if p, ok := o.(*corev1.Pod); ok && p.Status.Phase != "" {
		return string(p.Status.Phase)
	}
	return "Pending"
}

func deref(p *int64, def int64) int64 {
	if p == nil {
		return def
	}
	return *p
}

// Deployed is the gateway as shipped, run by Deploy.
type Deployed struct {
	// Process is the running container of the Deployment's Pod template.
	Process *gatewayproc.Process
	// CA is the PEM certificate of the CA Deploy made, which issued the certificate in the
	// template's Secret that the gateway serves: what its clients must trust (E2E_GATEWAY_CA).
	CA   []byte
	undo lifecycle.Stack
}

// Deploy is the deployed form without a suite around it (`make e2e-contract`): it builds and
// loads the image, applies gateway/config/default to the cluster of admin, and runs one container
// of the Deployment's Pod template straight against the API server, on its in-cluster identity,
// as a kubelet would. args are added after the template's. Stop undoes all of it; a failed Deploy
// leaves nothing behind.
func Deploy(ctx context.Context, admin *rest.Config, log io.Writer, args ...string) (*Deployed, error) {
	h := &Harness{Settings: settings.Settings{Timeouts: poll.Defaults(), GatewayRuntime: settings.RuntimeContainer}, log: log}
	h.admin = admin
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	ca := admin.CAData
	if len(ca) == 0 && admin.CAFile != "" {
		if ca, err = os.ReadFile(admin.CAFile); err != nil {
			return nil, fmt.Errorf("the API server's CA: %w", err)
		}
	}
	out := &Deployed{}
	err = lifecycle.Setup(ctx, []lifecycle.Stage{
		{Name: "work directory", Run: func(_ context.Context, undo *lifecycle.Stack) error {
			dir, err := os.MkdirTemp("", "gateway-deploy-")
			if err != nil {
				return fmt.Errorf("work directory: %w", err)
			}
			h.workDir = dir
			undo.Push("the work directory "+dir, func(context.Context) error { return os.RemoveAll(dir) })
			return nil
		}},
		{Name: "gateway CA", Run: h.setupGatewayCA},
		{Name: "gateway image", Run: h.buildImage},
		{Name: "gateway deployment", Run: func(ctx context.Context, undo *lifecycle.Stack) error {
			d, err := h.deployGateway(ctx, admin, kube, undo, nil)
			if err != nil {
				return err
			}
			// The container serves the Secret's certificate, projected as a kubelet would.
			certDir := filepath.Join(h.workDir, "tls-deployed")
			if err := d.secretPair.WriteProjected(certDir); err != nil {
				return fmt.Errorf("the deployed gateway's serving certificate: %w", err)
			}
			launch, err := h.podLauncher("deployed", d, admin.Host, ca, certDir, func() []string { return args }, func(string) {}, undo)
			if err != nil {
				return err
			}
			if out.Process, err = launch(ctx, ""); err != nil {
				return err
			}
			undo.Push("the gateway container", func(context.Context) error { return out.Process.Stop(d.grace) })
			return nil
		}},
	}, &out.undo, nil)
	if err != nil {
		return nil, fmt.Errorf("deploying the gateway: %w", err)
	}
	out.CA = h.GatewayCA()
	return out, nil
}

// Stop stops the container (SIGTERM, then the template's grace period), deletes what Deploy
// applied, and removes its files; safe twice.
func (d *Deployed) Stop(ctx context.Context) error { return d.undo.Unwind(ctx) }
