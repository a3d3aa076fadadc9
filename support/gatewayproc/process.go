package gatewayproc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kubernaut/gateway-contract/support/poll"
)

// Options says how to start one gateway process.
type Options struct {
	// Binary is the path Build returned.
	Binary string
	// Kubeconfig is the file WriteKubeconfig wrote.
	Kubeconfig string
	// Args are extra flags, such as retry settings.
	Args []string
	// Bounds are the run's timeouts: GatewayStart bounds the wait for the listening line and for
	// /readyz, Interval paces the readiness polls.
	Bounds poll.Bounds
	// Client asks /readyz: one that trusts the CA of the gateway's serving certificate when it
	// serves HTTPS. Nil is http.DefaultClient (plain HTTP, or a certificate the system trusts).
	Client *http.Client
}

// Runner is how a gateway runs: a host process (Start) or a container (support/gatewayctr).
// Process watches either the same way, through its log and its readiness endpoint, so every
// scenario runs unchanged on both.
type Runner interface {
	// Run starts the gateway and returns its log stream (stderr), which ends when it exits.
	Run(ctx context.Context) (io.ReadCloser, error)
	// Signal sends sig: SIGTERM for a graceful stop, SIGKILL for a crash.
	Signal(sig syscall.Signal) error
	// Wait blocks until the gateway has exited and returns its exit error (nil: exit code 0).
	Wait() error
	// String names it in messages: "pid 1234", "container 1a2b3c4d5e6f".
	String() string
	// Pid is the host's pid of the gateway (a container's first process), for reports.
	Pid() int
}

// Process is a running gateway, whatever runs it.
type Process struct {
	r       Runner
	bounds  poll.Bounds
	client  *http.Client
	url     string
	done    chan struct{}
	waitErr error

	mu    sync.Mutex
	lines []string
}

// execRunner runs the gateway as a host process in its own process group.
type execRunner struct{ cmd *exec.Cmd }

func (e *execRunner) Run(context.Context) (io.ReadCloser, error) {
	stderr, err := e.cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("piping the gateway's log: %w", err)
	}
	e.cmd.Stdout = io.Discard
	if err := e.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the gateway %s: %w", e.cmd.Path, err)
	}
	return stderr, nil
}

func (e *execRunner) Signal(sig syscall.Signal) error {
	if sig == syscall.SIGKILL { // the whole group: nothing the gateway started outlives it
		return syscall.Kill(-e.cmd.Process.Pid, sig)
	}
	return e.cmd.Process.Signal(sig)
}

func (e *execRunner) Wait() error    { return e.cmd.Wait() }
func (e *execRunner) String() string { return fmt.Sprintf("pid %d", e.cmd.Process.Pid) }
func (e *execRunner) Pid() int       { return e.cmd.Process.Pid }

// Start launches the gateway as a host process on a free loopback port, reads the port from its
// "listening" log line, and waits until /readyz answers 200.
func Start(ctx context.Context, o Options) (*Process, error) {
	args := append([]string{"--listen=127.0.0.1:0", "--kubeconfig=" + o.Kubeconfig}, o.Args...)
	cmd := exec.Command(o.Binary, args...)
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return StartWith(ctx, &execRunner{cmd: cmd}, o.Bounds, o.Client)
}

// StartWith runs the gateway with r (which must make it listen on a free loopback port, or the
// one a restart keeps), reads its address from its "listening" log line, and waits until
// /readyz answers 200, asked with client (nil: http.DefaultClient). On failure the gateway is
// killed and the error carries its log's tail.
func StartWith(ctx context.Context, r Runner, bounds poll.Bounds, client *http.Client) (*Process, error) {
	if bounds.GatewayStart <= 0 {
		bounds = poll.Defaults()
	}
	if client == nil {
		client = http.DefaultClient
	}
	stderr, err := r.Run(ctx)
	if err != nil {
		return nil, err
	}
	p := &Process{r: r, bounds: bounds, client: client, done: make(chan struct{})}
	addr := make(chan string, 1)
	logDone := make(chan struct{})
	go func() { p.readLog(stderr, addr); close(logDone) }()
	// Wait closes the pipe, so it must come after the log is read to its end: the last lines
	// (a crash, the shutdown) are the ones a failure message needs.
	go func() { <-logDone; p.waitErr = r.Wait(); close(p.done) }()

	timer := time.NewTimer(bounds.GatewayStart)
	defer timer.Stop()
	select {
	case a := <-addr:
		p.url = a
	case <-p.done:
		return nil, fmt.Errorf("the gateway (%s) exited before it listened (%v); its log:\n%s", r, p.waitErr, p.tail(20))
	case <-timer.C:
		p.kill()
		return nil, fmt.Errorf("the gateway (%s) did not log its listening address within %s; its log:\n%s", r, bounds.GatewayStart, p.tail(20))
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("starting the gateway: %w", ctx.Err())
	}
	if err := p.WaitReady(ctx, bounds.GatewayStart, http.StatusOK); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

func (p *Process) readLog(r io.Reader, addr chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	sent := false
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.lines = append(p.lines, line)
		p.mu.Unlock()
		if !sent {
			if u, ok := listeningURL(line); ok {
				addr <- u
				sent = true
			}
		}
	}
}

// listeningURL reads the gateway's base URL from its "listening" log line: the address, and the
// scheme when the line names one (http otherwise).
func listeningURL(line string) (string, bool) {
	var rec struct {
		Msg    string `json:"msg"`
		Addr   string `json:"addr"`
		Scheme string `json:"scheme"`
	}
	if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "listening" || rec.Addr == "" {
		return "", false
	}
	if rec.Scheme == "" {
		rec.Scheme = "http"
	}
	return rec.Scheme + "://" + rec.Addr, true
}

// URL is the gateway's base URL, e.g. https://127.0.0.1:41234.
func (p *Process) URL() string { return p.url }

// Pid is the host's pid of the gateway, for reports.
func (p *Process) Pid() int { return p.r.Pid() }

// String names what runs the gateway, for logs: "pid 1234", "container 1a2b3c4d5e6f".
func (p *Process) String() string { return p.r.String() }

// LogLines returns the log lines that contain every one of the given substrings (all lines when
// none are given). Scenarios pass their namespace to get the lines that belong to them.
func (p *Process) LogLines(contains ...string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
next:
	for _, l := range p.lines {
		for _, c := range contains {
			if !strings.Contains(l, c) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

func (p *Process) tail(n int) string {
	lines := p.LogLines()
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// WaitReady polls /readyz until it answers want, bounded by timeout.
func (p *Process) WaitReady(ctx context.Context, timeout time.Duration, want int) error {
	err := p.bounds.Until(ctx, timeout, fmt.Sprintf("the gateway's /readyz to answer %d", want), func(ctx context.Context) (bool, string, error) {
		select {
		case <-p.done:
			return false, "", fmt.Errorf("the gateway exited (%v)", p.waitErr)
		default:
		}
		code, err := Probe(ctx, p.client, p.url, "/readyz")
		if err != nil {
			return false, err.Error(), nil
		}
		return code == want, fmt.Sprintf("HTTP %d", code), nil
	})
	if err != nil {
		return fmt.Errorf("%w; its log:\n%s", err, p.tail(20))
	}
	return nil
}

// Probe GETs a gateway endpoint such as /readyz with client (nil: http.DefaultClient) and returns
// the status code; the body is discarded. The harness uses it for every readiness check; the
// client must trust the CA of the gateway's serving certificate.
func Probe(ctx context.Context, client *http.Client, baseURL, path string) (int, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Signaled says whether the exit error of a gateway (ExitErr) shows that a signal ended it, and
// which: a process's wait status, or a runner's own account (a container's exit code 128+n).
func Signaled(err error) (syscall.Signal, bool) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return ws.Signal(), true
		}
		return 0, false
	}
	var s interface{ Signaled() (syscall.Signal, bool) }
	if errors.As(err, &s) {
		return s.Signaled()
	}
	return 0, false
}

// Signal sends sig to the gateway, e.g. SIGTERM to test graceful shutdown.
func (p *Process) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return fmt.Errorf("signalling the gateway (%s): %v is not a POSIX signal", p.r, sig)
	}
	if err := p.r.Signal(s); err != nil {
		return fmt.Errorf("signalling the gateway (%s): %w", p.r, err)
	}
	return nil
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// ExitErr is the process's exit error (nil for a clean exit); valid after Exited is closed.
func (p *Process) ExitErr() error { return p.waitErr }

// Stop asks the gateway to stop with SIGTERM, and kills it if it has not exited within timeout.
func (p *Process) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("the gateway (%s) did not stop within %s of SIGTERM and was killed", p.r, timeout)
	}
}

// Kill ends the gateway at once with SIGKILL, as a crash would, and waits for it to be gone.
func (p *Process) Kill() { p.kill() }

func (p *Process) kill() {
	_ = p.r.Signal(syscall.SIGKILL)
	<-p.done
}
