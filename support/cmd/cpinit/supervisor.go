package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

type childExit struct {
	name string
	err  error
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// supervisor runs the children and stops them newest first.
type supervisor struct {
	children []*child
	exited   chan childExit
}

func (s *supervisor) start(ctx context.Context, binDir, name string, args ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	fmt.Fprintf(os.Stderr, "cpinit: started %s (pid %d)\n", name, cmd.Process.Pid)
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	s.children = append(s.children, c)
	go func() {
		err := cmd.Wait()
		close(c.done)
		s.exited <- childExit{name: name, err: err}
	}()
	return nil
}

// waitHealthy polls url until it answers 200, the child exits, or the context ends.
func (s *supervisor) waitHealthy(ctx context.Context, name, url string, tlsConfig *tls.Config) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	defer client.CloseIdleConnections()
	begin := time.Now()
	deadline := time.NewTimer(componentTimeout)
	defer deadline.Stop()
	var last error
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				fmt.Fprintf(os.Stderr, "cpinit: %s healthy after %s\n", name, time.Since(begin).Round(time.Millisecond))
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e := <-s.exited:
			return fmt.Errorf("%s exited while waiting for %s to become healthy: %v", e.name, name, e.err)
		case <-deadline.C:
			return fmt.Errorf("%s not healthy after %s: %v", name, componentTimeout, last)
		case <-time.After(pollInterval):
		}
	}
}

func (s *supervisor) stopAll() {
	for i := len(s.children) - 1; i >= 0; i-- {
		c := s.children[i]
		select {
		case <-c.done:
			continue
		default:
		}
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.done:
		case <-time.After(stopGrace):
			fmt.Fprintf(os.Stderr, "cpinit: %s did not stop in %s; killing it\n", c.name, stopGrace)
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
}
