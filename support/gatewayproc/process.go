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
}

// Process is a running gateway.
type Process struct {
	cmd     *exec.Cmd
	bounds  poll.Bounds
	url     string
	done    chan struct{}
	waitErr error

	mu    sync.Mutex
	lines []string
}

// Start launches the gateway on a free loopback port, reads the port from its "listening" log
// line, and waits until /readyz answers 200.
func Start(ctx context.Context, o Options) (*Process, error) {
	if o.Bounds.GatewayStart <= 0 {
		o.Bounds = poll.Defaults()
	}
	args := append([]string{"--listen=127.0.0.1:0", "--kubeconfig=" + o.Kubeconfig}, o.Args...)
	cmd := exec.Command(o.Binary, args...)
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("piping the gateway's log: %w", err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the gateway %s: %w", o.Binary, err)
	}
	p := &Process{cmd: cmd, bounds: o.Bounds, done: make(chan struct{})}
	addr := make(chan string, 1)
	logDone := make(chan struct{})
	go func() { p.readLog(stderr, addr); close(logDone) }()
	// Wait closes the pipe, so it must come after the log is read to its end: the last lines
	// (a crash, the shutdown) are the ones a failure message needs.
	go func() { <-logDone; p.waitErr = cmd.Wait(); close(p.done) }()

	timer := time.NewTimer(o.Bounds.GatewayStart)
	defer timer.Stop()
	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.done:
		return nil, fmt.Errorf("the gateway exited before it listened (%v); its log:\n%s", p.waitErr, p.tail(20))
	case <-timer.C:
		p.kill()
		return nil, fmt.Errorf("the gateway did not log its listening address within %s; its log:\n%s", o.Bounds.GatewayStart, p.tail(20))
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("starting the gateway: %w", ctx.Err())
	}
	if err := p.WaitReady(ctx, o.Bounds.GatewayStart, http.StatusOK); err != nil {
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
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				addr <- rec.Addr
				sent = true
			}
		}
	}
}

// URL is the gateway's base URL, e.g. http://127.0.0.1:41234.
func (p *Process) URL() string { return p.url }

// Pid identifies the process, for logs.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

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
		code, err := Probe(ctx, p.url, "/readyz")
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

// Probe GETs a gateway endpoint such as /readyz and returns the status code; the body is
// discarded. Steps and the harness use it for every health check.
func Probe(ctx context.Context, baseURL, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Signal sends sig to the gateway, e.g. SIGTERM to test graceful shutdown.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signalling the gateway (pid %d): %w", p.Pid(), err)
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
		return fmt.Errorf("the gateway (pid %d) did not stop within %s of SIGTERM and was killed", p.Pid(), timeout)
	}
}

// Kill ends the gateway at once with SIGKILL, as a crash would, and waits for it to be gone.
func (p *Process) Kill() { p.kill() }

func (p *Process) kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}
