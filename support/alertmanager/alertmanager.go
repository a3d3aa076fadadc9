package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubernaut/gateway-contract/support/poll"
)

// Options configure one Alertmanager with one route and one webhook receiver. The zero values
// of the timings are the fast defaults below, made for tests, not for production.
type Options struct {
	// Binary is the alertmanager to run; empty means EnsureBinary's (built on first use).
	Binary string
	// ReceiverURL is where notifications are POSTed: the gateway's
	// http://host:port/api/v1/signals/prometheus. Required.
	ReceiverURL string
	// BearerTokenFile, when set, is sent as `Authorization: Bearer <file contents>`
	// (http_config.authorization.credentials_file; Alertmanager rereads it for every request).
	BearerTokenFile string
	// CAFile, when set, is the CA that verifies an https ReceiverURL (http_config.tls_config.ca_file).
	CAFile string
	// GroupBy are the labels that make one aggregation group, hence one notification.
	// Nil means [alertname, namespace]; []string{"..."} groups by every label.
	GroupBy []string
	// GroupWait is how long a new group waits for more alerts before its first notification
	// (default 100ms).
	GroupWait time.Duration
	// GroupInterval is how long a group waits before notifying about changes: new alerts,
	// resolved ones, or a resend after a notification that failed without retry (default 1s).
	GroupInterval time.Duration
	// RepeatInterval is how long an unchanged, delivered group waits before it is sent again
	// (default 1h, so that a test sees no repeats it did not ask for).
	RepeatInterval time.Duration
	// SendResolved sends a notification when alerts resolve (webhook send_resolved).
	SendResolved bool
	// MaxAlerts caps the alerts in one notification; the rest are counted in truncatedAlerts
	// (webhook max_alerts; 0 is unlimited).
	MaxAlerts int
	// Timeout bounds one webhook request (webhook timeout; 0 is none, and then only the
	// notification's own deadline of max(GroupInterval, 10s) applies).
	Timeout time.Duration
	// WorkDir holds alertmanager.yml and the storage directory. Required (t.TempDir() will do).
	WorkDir string
	// Log receives Alertmanager's log lines (logfmt), e.g. os.Stderr or a scenario's log.
	// The last lines are also kept for error messages (Alertmanager.Log).
	Log io.Writer
	// Bounds are the run's timeouts (support/settings); zero means poll.Defaults(). GatewayStart
	// bounds the start up to /-/ready, GatewayStop the graceful stop.
	Bounds poll.Bounds
}

func (o *Options) defaults() {
	if o.GroupBy == nil {
		o.GroupBy = []string{"alertname", "namespace"}
	}
	if o.GroupWait == 0 {
		o.GroupWait = 100 * time.Millisecond
	}
	if o.GroupInterval == 0 {
		o.GroupInterval = time.Second
	}
	if o.RepeatInterval == 0 {
		o.RepeatInterval = time.Hour
	}
	if o.Bounds == (poll.Bounds{}) {
		o.Bounds = poll.Defaults()
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Config renders alertmanager.yml for o (after defaults): one root route to one receiver,
// "gateway", with one webhook.
func Config(o Options) ([]byte, error) {
	o.defaults()
	if o.ReceiverURL == "" {
		return nil, errors.New("alertmanager: Options.ReceiverURL is required")
	}
	webhook := map[string]any{
		"url":           o.ReceiverURL,
		"send_resolved": o.SendResolved,
		"max_alerts":    o.MaxAlerts,
	}
	if o.Timeout > 0 {
		webhook["timeout"] = duration(o.Timeout)
	}
	httpConfig := map[string]any{}
	if o.BearerTokenFile != "" {
		abs, err := filepath.Abs(o.BearerTokenFile)
		if err != nil {
			return nil, err
		}
		httpConfig["authorization"] = map[string]any{"type": "Bearer", "credentials_file": abs}
	}
	if o.CAFile != "" {
		abs, err := filepath.Abs(o.CAFile)
		if err != nil {
			return nil, err
		}
		httpConfig["tls_config"] = map[string]any{"ca_file": abs}
	}
	if len(httpConfig) > 0 {
		webhook["http_config"] = httpConfig
	}
	cfg := map[string]any{
		"route": map[string]any{
			"receiver":        "gateway",
			"group_by":        o.GroupBy,
			"group_wait":      duration(o.GroupWait),
			"group_interval":  duration(o.GroupInterval),
			"repeat_interval": duration(o.RepeatInterval),
		},
		"receivers": []any{map[string]any{
			"name":            "gateway",
			"webhook_configs": []any{webhook},
		}},
	}
	return yaml.Marshal(cfg)
}

// duration writes d in milliseconds, a form that both Prometheus's model.Duration (the route
// timers) and Go's time.ParseDuration (the webhook timeout) accept; "1m0s" is not.
func duration(d time.Duration) string {
	if d > 0 && d < time.Millisecond {
		d = time.Millisecond
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// Alertmanager is a running Alertmanager process.
type Alertmanager struct {
	url     string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	log     *lineLog
	bounds  poll.Bounds

	stopOnce sync.Once
	stopErr  error
}

// Start writes the configuration into o.WorkDir, starts Alertmanager on a free loopback port with
// clustering (gossip) off, and waits until /-/ready answers 200. The process is in a process group
// of its own and is killed if the test process dies; Stop ends it.
func Start(ctx context.Context, o Options) (*Alertmanager, error) {
	o.defaults()
	if o.WorkDir == "" {
		return nil, errors.New("alertmanager: Options.WorkDir is required")
	}
	cfg, err := Config(o)
	if err != nil {
		return nil, err
	}
	configFile := filepath.Join(o.WorkDir, "alertmanager.yml")
	if err := os.WriteFile(configFile, cfg, 0o644); err != nil {
		return nil, fmt.Errorf("writing the Alertmanager configuration: %w", err)
	}
	if o.Binary == "" {
		if o.Binary, err = EnsureBinary(ctx, o.Log); err != nil {
			return nil, err
		}
	}
	// The free port is found by listening on :0 and closing; another process can take it in
	// between, so a start that fails on its address is tried again on a new port.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		am, err := start(ctx, o, configFile)
		if err == nil {
			return am, nil
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
	}
	return nil, lastErr
}

var errAddrInUse = errors.New("address already in use")

func start(ctx context.Context, o Options, configFile string) (*Alertmanager, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	base := "http://" + addr
	cmd := exec.Command(o.Binary,
		"--config.file="+configFile,
		"--storage.path="+filepath.Join(o.WorkDir, "data"),
		"--web.listen-address="+addr,
		"--web.external-url="+base+"/",
		"--cluster.listen-address=",
		"--log.format=logfmt",
	)
	cmd.Dir = o.WorkDir
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	lines := &lineLog{out: o.Log}
	cmd.Stdout = lines
	cmd.Stderr = lines
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting Alertmanager %s: %w", o.Binary, err)
	}
	am := &Alertmanager{url: base, cmd: cmd, done: make(chan struct{}), log: lines, bounds: o.Bounds}
	go func() { am.waitErr = cmd.Wait(); close(am.done) }()

	err = o.Bounds.Until(ctx, o.Bounds.GatewayStart, "Alertmanager's /-/ready to answer 200", func(ctx context.Context) (bool, string, error) {
		select {
		case <-am.done:
			return false, "", fmt.Errorf("Alertmanager exited (%v)", am.waitErr)
		default:
		}
		code, err := am.get(ctx, "/-/ready", io.Discard)
		if err != nil {
			return false, err.Error(), nil
		}
		return code == http.StatusOK, fmt.Sprintf("HTTP %d", code), nil
	})
	if err != nil {
		am.Stop()
		tail := am.Log(20)
		if strings.Contains(tail, "address already in use") {
			return nil, fmt.Errorf("%w: %s", errAddrInUse, addr)
		}
		return nil, fmt.Errorf("%w; its log:\n%s", err, tail)
	}
	return am, nil
}

func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// URL is Alertmanager's base URL, e.g. http://127.0.0.1:40123.
func (a *Alertmanager) URL() string { return a.url }

// Pid identifies the process, for logs.
func (a *Alertmanager) Pid() int { return a.cmd.Process.Pid }

// Log returns Alertmanager's last n log lines (all with n <= 0), joined by newlines.
func (a *Alertmanager) Log(n int) string { return a.log.tail(n) }

// Exited is closed when the process has exited.
func (a *Alertmanager) Exited() <-chan struct{} { return a.done }

// Stop ends Alertmanager: SIGTERM to its process group, then SIGKILL if it has not exited within
// Options.Bounds.GatewayStop. It is safe to call more than once; later calls return the first
// result.
func (a *Alertmanager) Stop() error {
	a.stopOnce.Do(func() {
		select {
		case <-a.done:
			return
		default:
		}
		pgid := -a.cmd.Process.Pid
		syscall.Kill(pgid, syscall.SIGTERM)
		timer := time.NewTimer(a.bounds.GatewayStop)
		defer timer.Stop()
		select {
		case <-a.done:
		case <-timer.C:
			syscall.Kill(pgid, syscall.SIGKILL)
			<-a.done
			a.stopErr = fmt.Errorf("Alertmanager (pid %d) did not stop within %s of SIGTERM and was killed", a.Pid(), a.bounds.GatewayStop)
		}
	})
	return a.stopErr
}

// Alert is one alert as Prometheus posts it to /api/v2/alerts. An EndsAt in the past resolves
// the alert; a zero EndsAt leaves it firing until resolve_timeout (5m) passes without a repeat.
// Prometheus itself sends EndsAt a few evaluation intervals ahead and repeats the alert.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Resolve returns a copy of a that ends at at: pushed once at is past, it resolves the alert.
// StartsAt stays, as Prometheus sends it; Alertmanager rejects an EndsAt before StartsAt.
func (a Alert) Resolve(at time.Time) Alert {
	a.EndsAt = at
	return a
}

// Push posts alerts to /api/v2/alerts, as Prometheus does. Alertmanager groups them by
// Options.GroupBy and notifies the receiver after GroupWait; changes to a group that has been
// notified (new alerts, resolved ones) go out at its next GroupInterval. Two things a scenario
// should know, both Alertmanager's own behaviour (v0.28.1):
//   - A new group whose first alert has a StartsAt more than GroupWait in the past is flushed at
//     once, so the alerts of one push may be split across notifications. Give StartsAt about
//     now (or leave it zero) to have them in one.
//   - A resolved alert is sent once (with SendResolved) and then leaves the group.
func (a *Alertmanager) Push(ctx context.Context, alerts []Alert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return fmt.Errorf("encoding alerts: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("posting %d alerts to Alertmanager: %w", len(alerts), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("posting %d alerts to Alertmanager: HTTP %d: %s", len(alerts), resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

func (a *Alertmanager) get(ctx context.Context, path string, w io.Writer) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// lineLog copies the process's output to out and keeps the last lines for error messages.
type lineLog struct {
	out     io.Writer
	mu      sync.Mutex
	partial []byte
	lines   []string
}

const keptLines = 200

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.out.Write(p)
	l.partial = append(l.partial, p...)
	consumed := 0
	for {
		i := bytes.IndexByte(l.partial[consumed:], '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[consumed:consumed+i]))
		consumed += i + 1
	}
	l.partial = append(l.partial[:0], l.partial[consumed:]...)
	if len(l.lines) > keptLines {
		l.lines = append(l.lines[:0], l.lines[len(l.lines)-keptLines:]...)
	}
	return len(p), nil
}

func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	if len(l.partial) > 0 {
		lines = append(append([]string(nil), lines...), string(l.partial))
	}
	if n > 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
