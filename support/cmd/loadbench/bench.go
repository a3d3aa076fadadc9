package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrlclient "sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/gatewayproc"
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/namespace"
	"github.com/kubernaut/gateway-contract/support/runid"
)

// production is the gateway's documented defaults, with info logs: the benchmark measures the
// gateway as deployed. The client-go rate limits are left at the gateway's defaults, which are
// part of what is measured.
func production(c *gatewayconf.Config) {
	extra := c.Extra
	*c = gatewayconf.Documented(c.FallbackNamespace)
	c.Extra = extra
}

type bench struct {
	h    *harness.Harness
	cfg  config
	raw  ctrlclient.Client
	http *http.Client
	// gen names the benchmark's namespaces under a run id of their own: the harness waits at its
	// end for the run's namespaces to be gone, and these may hold thousands of objects, which
	// the namespace controller would take long to remove. They carry the suite's labels, so a
	// later run (or make clean-cluster) sweeps them from a cluster that outlives the benchmark.
	gen        *namespace.Generator
	namespaces []string
	workDir    string
	binary     string
}

func newBench(ctx context.Context, h *harness.Harness, cfg config) (*bench, error) {
	b := &bench{h: h, cfg: cfg, gen: namespace.New("loadbench" + runid.New())}
	// The shared gateway would watch every object the benchmark writes: stop it.
	if h.Gateway != nil {
		if err := h.Gateway.Stop(); err != nil {
			return nil, fmt.Errorf("stopping the shared gateway: %w", err)
		}
	}
	// The raw client acts as the gateway (its ServiceAccount token, so API Priority and Fairness
	// treats it as it treats the gateway) without a client-side rate limit.
	rawCfg := h.AsToken(h.Identity.Token)
	rawCfg.QPS, rawCfg.Burst = -1, 0
	var err error
	if b.raw, err = ctrlclient.New(rawCfg, ctrlclient.Options{Scheme: scheme()}); err != nil {
		return nil, fmt.Errorf("raw client: %w", err)
	}
	// The run's client (it trusts the gateways' CA), with enough idle connections for the levels.
	t, ok := h.HTTPClient().Transport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("the harness's gateway client has a %T, not an *http.Transport", h.HTTPClient().Transport)
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost, t.MaxIdleConns, t.IdleConnTimeout = 256, 256, time.Minute
	b.http = &http.Client{Transport: t}
	if b.workDir, err = os.MkdirTemp("", "loadbench-"); err != nil {
		return nil, err
	}
	if b.binary, err = gatewayproc.Build(ctx, b.workDir); err != nil {
		return nil, err
	}
	return b, nil
}

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ns := range b.namespaces {
		// Asked, not awaited: on the embedded control plane the cluster goes away next anyway.
		_ = namespace.Delete(ctx, b.h.Kube, ns, namespace.LeaveToController())
	}
	if b.workDir != "" {
		_ = os.RemoveAll(b.workDir)
	}
}

func (b *bench) namespace(ctx context.Context, point string) (string, error) {
	name := b.gen.Name(point)
	if err := namespace.Create(ctx, b.h.Kube, name, b.gen.Labels("loadbench", point), b.gen.Annotations("loadbench", point)); err != nil {
		return "", err
	}
	b.namespaces = append(b.namespaces, name)
	return name, nil
}

// measure goes level by level, so that the raw and the gateway figures of one level are taken
// close together (load from elsewhere on a shared machine comes and goes): raw creates and
// status updates with no gateway running, then a gateway direct to the API server, then one
// through the fault proxy, each started for the level and stopped after it, so that only the
// measured one watches the API server. The latencies come last, from a fresh direct gateway.
func (b *bench) measure(ctx context.Context, rep *Report) error {
	say := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "loadbench: "+format+"\n", args...) }
	if b.cfg.proxied {
		rep.Proxied = &Series{}
	}
	for _, c := range b.cfg.levels {
		say("concurrency %d", c)
		p, err := b.rawCreates(ctx, c)
		if err != nil {
			return err
		}
		rep.Raw.Create = append(rep.Raw.Create, p)
		say("  raw creates          %8.1f/s%s", p.PerSecond, cpuNote(p))
		if p, err = b.rawUpdates(ctx, c); err != nil {
			return err
		}
		rep.Raw.StatusUpdate = append(rep.Raw.StatusUpdate, p)
		say("  raw status updates   %8.1f/s%s", p.PerSecond, cpuNote(p))

		direct, err := b.startDirect(ctx)
		if err != nil {
			return err
		}
		err = b.gatewayLevel(ctx, c, "direct", direct.URL(), nil, &rep.Direct, say)
		if stopErr := direct.Stop(30 * time.Second); err == nil && stopErr != nil {
			err = fmt.Errorf("stopping the direct gateway: %w", stopErr)
		}
		if err != nil {
			return err
		}
		if !b.cfg.proxied {
			continue
		}
		g, err := b.h.StartGateway(ctx, "loadbench", production)
		if err != nil {
			return err
		}
		err = b.gatewayLevel(ctx, c, "proxied", g.Process.URL(), g.Proxy, rep.Proxied, say)
		if stopErr := g.Stop(); err == nil && stopErr != nil {
			err = fmt.Errorf("stopping the proxied gateway: %w", stopErr)
		}
		if err != nil {
			return err
		}
	}

	say("latency of one sender")
	lat, err := b.rawCreateLatency(ctx)
	if err != nil {
		return err
	}
	rep.Latency.RawCreate = lat
	direct, err := b.startDirect(ctx)
	if err != nil {
		return err
	}
	err = b.gatewayLatency(ctx, direct.URL(), rep)
	if stopErr := direct.Stop(30 * time.Second); err == nil && stopErr != nil {
		err = fmt.Errorf("stopping the direct gateway: %w", stopErr)
	}
	return err
}

// startDirect launches a gateway whose kubeconfig leads straight to the API server, with the
// gateway's ServiceAccount token.
func (b *bench) startDirect(ctx context.Context) (*gatewayproc.Process, error) {
	admin := b.h.Cluster.RESTConfig()
	ca := admin.CAData
	if len(ca) == 0 && admin.CAFile != "" {
		var err error
		if ca, err = os.ReadFile(admin.CAFile); err != nil {
			return nil, fmt.Errorf("reading the API server's CA: %w", err)
		}
	}
	host, _, err := rest.DefaultServerUrlFor(admin)
	if err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(b.workDir, "kubeconfig-direct")
	if err := gatewayproc.WriteKubeconfig(kubeconfig, host.String(), ca, b.h.Identity.Token); err != nil {
		return nil, err
	}
	cfg, err := b.h.GatewayConfig(production)
	if err != nil {
		return nil, err
	}
	tls, err := b.h.WriteGatewayCertificate(filepath.Join(b.workDir, "tls-direct"))
	if err != nil {
		return nil, err
	}
	return gatewayproc.Start(ctx, gatewayproc.Options{
		Binary: b.binary, Kubeconfig: kubeconfig, Bounds: b.h.Settings.Timeouts, Args: append(cfg.Args(), tls...),
		Client: b.h.HTTPClient(),
	})
}

// gatewayLevel measures new signals and repeats at concurrency c; with a proxy, it also counts
// the API calls of each point.
func (b *bench) gatewayLevel(ctx context.Context, c int, name, url string, proxy *faultproxy.Proxy, series *Series, say func(string, ...any)) error {
	ns, err := b.namespace(ctx, fmt.Sprintf("%s-new-c%d", name, c))
	if err != nil {
		return err
	}
	p := b.cfg.win.run(ctx, c, func(ctx context.Context, w, i int) error {
		return b.send(ctx, url, ns, fmt.Sprintf("new-%d-%d", w, i), http.StatusCreated)
	})
	if proxy != nil {
		countCalls(&p, proxy.Requests(ns), time.Time{})
	}
	series.New = append(series.New, p)
	say("  %-7s new signals  %8.1f/s%s", name, p.PerSecond, callsNote(p))

	if ns, err = b.namespace(ctx, fmt.Sprintf("%s-repeat-c%d", name, c)); err != nil {
		return err
	}
	// Each sender's fingerprint exists before the measurement: every request is a repeat.
	for w := range c {
		if err := b.send(ctx, url, ns, fmt.Sprintf("repeat-%d", w), http.StatusCreated); err != nil {
			return fmt.Errorf("creating the repeated signals: %w", err)
		}
	}
	marker := time.Now()
	p = b.cfg.win.run(ctx, c, func(ctx context.Context, w, _ int) error {
		return b.send(ctx, url, ns, fmt.Sprintf("repeat-%d", w), http.StatusAccepted)
	})
	if proxy != nil {
		countCalls(&p, proxy.Requests(ns), marker)
	}
	series.Repeat = append(series.Repeat, p)
	say("  %-7s repeats      %8.1f/s%s", name, p.PerSecond, callsNote(p))
	return nil
}

func callsNote(p Point) string {
	note := cpuNote(p)
	if p.APICallsPerSignal == nil {
		return note
	}
	return fmt.Sprintf("%s  (%.2f API calls per signal: %v)", note, *p.APICallsPerSignal, p.APICalls)
}

// cpuNote lists the CPU milliseconds per operation of the busiest processes.
func cpuNote(p Point) string {
	type entry struct {
		comm string
		ms   float64
	}
	var es []entry
	for c, ms := range p.CPUMillisPerOp {
		if c != "total" && c != other {
			es = append(es, entry{c, ms})
		}
	}
	if len(es) == 0 {
		return ""
	}
	sort.Slice(es, func(i, j int) bool { return es[i].ms > es[j].ms })
	var parts []string
	for _, e := range es[:min(5, len(es))] {
		parts = append(parts, fmt.Sprintf("%s %.2f", e.comm, e.ms))
	}
	return fmt.Sprintf("  CPU ms/op %.2f: %s (%s: %.2f)", p.CPUMillisPerOp["total"], strings.Join(parts, ", "), other, p.CPUMillisPerOp[other])
}

// countCalls divides the proxy's records of the namespace since marker by the signals stored.
func countCalls(p *Point, records []faultproxy.Record, marker time.Time) {
	calls := map[string]int{}
	n := 0
	for _, r := range records {
		if r.Time.Before(marker) {
			continue
		}
		verb := r.Verb
		if r.Subresource != "" {
			verb += " " + r.Subresource
		}
		calls[verb]++
		n++
	}
	stored := p.Ops - p.Errors
	if stored > 0 {
		per := float64(n) / float64(stored)
		p.APICallsPerSignal = &per
	}
	p.APICalls = calls
}

func (b *bench) gatewayLatency(ctx context.Context, url string, rep *Report) error {
	ns, err := b.namespace(ctx, "latency")
	if err != nil {
		return err
	}
	rep.Latency.New = latency(ctx, b.cfg.latencyN, 20, func(ctx context.Context, _, i int) error {
		return b.send(ctx, url, ns, "lat-"+strconv.Itoa(i), http.StatusCreated)
	})
	if err := b.send(ctx, url, ns, "lat-repeat", http.StatusCreated); err != nil {
		return err
	}
	rep.Latency.Repeat = latency(ctx, b.cfg.latencyN, 20, func(ctx context.Context, _, _ int) error {
		return b.send(ctx, url, ns, "lat-repeat", http.StatusAccepted)
	})
	return nil
}

// send posts one firing alert for pod in ns and checks the answer's code.
func (b *bench) send(ctx context.Context, url, ns, pod string, want int) error {
	body := fmt.Appendf(nil, `{"version":"4","status":"firing","receiver":"loadbench","groupKey":"{}:{alertname=\"LoadBench\"}",`+
		`"alerts":[{"status":"firing","labels":{"alertname":"LoadBench","namespace":%q,"pod":%q,"container":"app","severity":"warning"},`+
		`"annotations":{"summary":"load benchmark","description":"a synthetic alert of the load benchmark"},`+
		`"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example:9090/graph"}]}`, ns, pod)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/signals/prometheus", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.h.Sender.Token)
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != want {
		return fmt.Errorf("HTTP %d (want %d): %s", resp.StatusCode, want, bytes.TrimSpace(msg))
	}
	return nil
}

// rawObject is a RemediationRequest like the ones the gateway creates, payload included.
func rawObject(ns string, w, i int) *v1alpha1.RemediationRequest {
	sum := sha256.Sum256([]byte(fmt.Sprintf("LoadBench:%s:Pod:raw-%d-%d", ns, w, i)))
	fp := hex.EncodeToString(sum[:])
	now := metav1.Now()
	pod := fmt.Sprintf("raw-%d-%d", w, i)
	return &v1alpha1.RemediationRequest{
		ObjectMeta: metav1.ObjectMeta{
			Name: "rr-" + fp[:16] + "-0", Namespace: ns,
			Labels: map[string]string{
				v1alpha1.LabelManagedBy: v1alpha1.ManagedByGateway, v1alpha1.LabelSignalFingerprint: fp[:63],
				v1alpha1.LabelSeverity: v1alpha1.SeverityWarning, v1alpha1.LabelSignalType: v1alpha1.SignalTypePrometheusAlert,
			},
			Annotations: map[string]string{v1alpha1.AnnotationSender: "system:serviceaccount:loadbench:raw"},
		},
		Spec: v1alpha1.RemediationRequestSpec{
			SignalFingerprint: fp, SignalName: "LoadBench", Severity: v1alpha1.SeverityWarning,
			SignalType: v1alpha1.SignalTypePrometheusAlert, SignalSource: v1alpha1.SignalSourceAlertmanager,
			TargetType:     v1alpha1.TargetTypeKubernetes,
			TargetResource: v1alpha1.ResourceIdentifier{Kind: "Pod", Name: pod, Namespace: ns},
			FiringTime:     now, ReceivedTime: now,
			SignalLabels:      map[string]string{"alertname": "LoadBench", "namespace": ns, "pod": pod, "container": "app", "severity": "warning"},
			SignalAnnotations: map[string]string{"summary": "load benchmark", "description": "a synthetic alert of the load benchmark"},
			OriginalPayload: fmt.Sprintf(`{"status":"firing","labels":{"alertname":"LoadBench","namespace":%q,"pod":%q,"container":"app","severity":"warning"},`+
				`"annotations":{"summary":"load benchmark","description":"a synthetic alert of the load benchmark"},`+
				`"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prometheus.example:9090/graph"}`, ns, pod),
		},
	}
}

func (b *bench) rawCreates(ctx context.Context, c int) (Point, error) {
	ns, err := b.namespace(ctx, fmt.Sprintf("raw-create-c%d", c))
	if err != nil {
		return Point{}, err
	}
	return b.cfg.win.run(ctx, c, func(ctx context.Context, w, i int) error {
		return b.raw.Create(ctx, rawObject(ns, w, i))
	}), nil
}

// rawUpdates has each sender raise the occurrence count of an object of its own, with the
// resourceVersion of its previous update: one status update per operation, never a conflict.
func (b *bench) rawUpdates(ctx context.Context, c int) (Point, error) {
	ns, err := b.namespace(ctx, fmt.Sprintf("raw-update-c%d", c))
	if err != nil {
		return Point{}, err
	}
	objs := make([]*v1alpha1.RemediationRequest, c)
	for w := range c {
		objs[w] = rawObject(ns, w, 0)
		if err := b.raw.Create(ctx, objs[w]); err != nil {
			return Point{}, fmt.Errorf("raw create: %w", err)
		}
	}
	return b.cfg.win.run(ctx, c, func(ctx context.Context, w, i int) error {
		rr := objs[w]
		now := metav1.NowMicro()
		if rr.Status.Deduplication == nil {
			rr.Status.Deduplication = &v1alpha1.DeduplicationStatus{FirstSeenAt: now, LastSeenAt: now, OccurrenceCount: 1}
		} else {
			rr.Status.Deduplication.OccurrenceCount++
			rr.Status.Deduplication.LastSeenAt = now
		}
		return b.raw.Status().Update(ctx, rr)
	}), nil
}

func (b *bench) rawCreateLatency(ctx context.Context) (Latency, error) {
	ns, err := b.namespace(ctx, "raw-latency")
	if err != nil {
		return Latency{}, err
	}
	return latency(ctx, b.cfg.latencyN, 20, func(ctx context.Context, _, i int) error {
		return b.raw.Create(ctx, rawObject(ns, 0, i))
	}), nil
}
