package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/kubernaut/gateway-contract/support/cluster"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/image"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
)

// On a cluster with nodes that can take the run's image (kind: cluster.ImageLoader), the
// container runtime runs no container of its own: the image is loaded into the nodes, the
// Deployment's real Pods run it with the suite's configuration added to their args, and the suite
// reaches one ready Pod through client-go's port-forward, as `kubectl port-forward` would. The
// kubelet then does what the container runtime plays elsewhere: the token, the CA, SIGTERM and
// the grace period. The Pods reach the API server directly, without the suite's fault proxy, so
// the run drives them as it drives a deployed gateway: the scenarios that need a launched gateway
// (@launched-gateway) are not run, and the report says so.

// realPods reports whether the run's cluster runs the gateway's Pods itself.
func (h *Harness) realPods() bool {
	_, ok := h.Ready.Cluster.(cluster.ImageLoader)
	return ok && h.image != ""
}

// LaunchesGateways reports whether the run launches gateways of its own behind fault proxies;
// when it does not (contract mode, real Pods), the scenarios tagged @launched-gateway cannot run.
func (h *Harness) LaunchesGateways() bool { return h.Gateway != nil }

// deployForRuntime is the container runtime's deploy: on a cluster that loads images it first
// gives the nodes the run's image, and adds the suite's configuration to the Pods' args.
func (h *Harness) deployForRuntime(ctx context.Context, admin *rest.Config, kube kubernetes.Interface, undo *lifecycle.Stack) (*deployment, error) {
	loader, ok := h.Ready.Cluster.(cluster.ImageLoader)
	if !ok {
		return h.deployGateway(ctx, admin, kube, undo, nil)
	}
	if err := h.loadImage(ctx, loader); err != nil {
		return nil, err
	}
	cfg, err := h.GatewayConfig()
	if err != nil {
		return nil, err
	}
	h.DeployedConfig = cfg
	return h.deployGateway(ctx, admin, kube, undo, cfg.Args())
}

// loadImage writes the run's image as a docker-save archive and loads it into the cluster's nodes.
func (h *Harness) loadImage(ctx context.Context, loader cluster.ImageLoader) error {
	if h.built == nil {
		return errors.New("the gateway's image was not built before the cluster took it")
	}
	archive := filepath.Join(h.workDir, "gateway-image.tar")
	if err := image.WriteArchive(archive, h.built, h.image); err != nil {
		return err
	}
	if err := loader.LoadImageArchive(ctx, archive); err != nil {
		return err
	}
	fmt.Fprintf(h.log, "harness: loaded the image %s into the %s cluster's nodes\n", h.image, h.Ready.Cluster.Name())
	return nil
}

// startPods waits until the Deployment's Pods are ready (their readiness probe, /readyz, passed)
// and forwards a loopback port to one of them: the run's gateway URL.
func (h *Harness) startPods(ctx context.Context, undo *lifecycle.Stack) error {
	d := h.target.deployment
	if d == nil {
		return errors.New("no gateway Deployment was applied to this cluster")
	}
	pod, err := h.readyPod(ctx, d)
	if err != nil {
		return err
	}
	port, stop, err := forward(ctx, h.Admin(), d.namespace, pod, d.port, h.log)
	if err != nil {
		return err
	}
	undo.Push("the port-forward to "+d.namespace+"/"+pod, func(context.Context) error { stop(); return nil })
	h.GatewayURL = "https://127.0.0.1:" + strconv.Itoa(port)
	fmt.Fprintf(h.log, "harness: gateway Pod %s/%s ready; reached through port-forward at %s\n", d.namespace, pod, h.GatewayURL)
	return h.Settings.Timeouts.Until(ctx, h.Settings.Timeouts.Readiness, "the gateway Pod "+pod+" to answer /readyz 200 through the port-forward", func(ctx context.Context) (bool, string, error) {
		code, err := gatewayproc.Probe(ctx, h.HTTPClient(), h.GatewayURL, "/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, fmt.Sprintf("HTTP %d", code), nil
	})
}

// readyPod waits, within the gateway's start bound, for a Pod of d whose Ready condition is true,
// and names it; the last state of each Pod is what a timeout reports.
func (h *Harness) readyPod(ctx context.Context, d *deployment) (string, error) {
	var name string
	what := fmt.Sprintf("a ready Pod of the gateway's Deployment in %s (selector %s)", d.namespace, d.selector)
	err := h.Settings.Timeouts.Until(ctx, h.Settings.Timeouts.GatewayStart, what, func(ctx context.Context) (bool, string, error) {
		pods, err := d.kube.CoreV1().Pods(d.namespace).List(ctx, metav1.ListOptions{LabelSelector: d.selector})
		if err != nil {
			return false, err.Error(), nil
		}
		var seen []string
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.DeletionTimestamp == nil && podReady(p) {
				name = p.Name
				return true, "", nil
			}
			seen = append(seen, p.Name+": "+podState(p))
		}
		return false, "no ready Pod; " + strings.Join(seen, "; "), nil
	})
	return name, err
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podState is a Pod's phase and, for a container that is not running, why (ImagePullBackOff,
// CrashLoopBackOff): what a user looks for first.
func podState(p *corev1.Pod) string {
	s := string(p.Status.Phase)
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			s += ", " + c.Name + " waiting: " + w.Reason
		}
	}
	return s
}

// forward forwards a free port of 127.0.0.1 to port of the Pod, through the API server, with
// client-go's port-forward (websockets, falling back to SPDY, as kubectl does). stop ends it.
func forward(ctx context.Context, cfg *rest.Config, namespace, pod string, port int, log io.Writer) (int, func(), error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, nil, fmt.Errorf("port-forward client: %w", err)
	}
	u := kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return 0, nil, fmt.Errorf("port-forward transport: %w", err)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(u, cfg); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	stopCh, readyCh := make(chan struct{}), make(chan struct{})
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(port)}, stopCh, readyCh, io.Discard, log)
	if err != nil {
		return 0, nil, fmt.Errorf("port-forward to %s/%s: %w", namespace, pod, err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	stop := func() { close(stopCh); <-done }
	select {
	case <-readyCh:
	case err := <-done:
		return 0, nil, fmt.Errorf("port-forward to %s/%s:%d: %w", namespace, pod, port, oneLine(err))
	case <-ctx.Done():
		stop()
		return 0, nil, fmt.Errorf("port-forward to %s/%s:%d: %w", namespace, pod, port, ctx.Err())
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) != 1 {
		stop()
		return 0, nil, fmt.Errorf("port-forward to %s/%s:%d: no local port: %v", namespace, pod, port, err)
	}
	return int(ports[0].Local), stop, nil
}

// oneLine keeps an error on one line: port-forward's errors quote the API server's answers.
func oneLine(err error) error {
	if err == nil || !strings.Contains(err.Error(), "\n") {
		return err
	}
	return errors.New(strings.Join(strings.Fields(err.Error()), " "))
}
