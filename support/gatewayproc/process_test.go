package gatewayproc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubernaut/gateway-contract/support/poll"
)

// fakeGatewayEnv makes the test binary act as a gateway: it logs its listening line as the
// gateway does, answers /readyz with the status in the variable, and stops on SIGTERM. Start,
// WaitReady, Stop and Kill are then tested on a real process without a cluster.
const fakeGatewayEnv = "GATEWAYPROC_FAKE_GATEWAY_READYZ"

func TestMain(m *testing.M) {
	if code := os.Getenv(fakeGatewayEnv); code != "" {
		fakeGateway(code)
		return
	}
	os.Exit(m.Run())
}

func fakeGateway(readyz string) {
	if readyz == "exit" {
		fmt.Fprintln(os.Stderr, `{"level":"ERROR","msg":"cannot reach the API"}`)
		os.Exit(3)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.Exit(2)
	}
	var code int
	fmt.Sscan(readyz, &code)
	fmt.Fprintln(os.Stderr, "not JSON: a line before the listening one")
	fmt.Fprintf(os.Stderr, `{"level":"INFO","msg":"listening","addr":%q}`+"\n", ln.Addr().String())
	fmt.Fprintf(os.Stderr, `{"level":"INFO","msg":"listening","addr":"127.0.0.1:1"}`+"\n") // only the first counts
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }))
	}()
	<-stop
	fmt.Fprintln(os.Stderr, `{"level":"INFO","msg":"stopped"}`)
}

func fakeOptions(t *testing.T, readyz string) Options {
	t.Helper()
	t.Setenv(fakeGatewayEnv, readyz)
	bounds := poll.Defaults()
	bounds.GatewayStart = 5 * time.Second
	bounds.Interval = 10 * time.Millisecond
	return Options{Binary: os.Args[0], Kubeconfig: "unused", Args: []string{"-test.run=^$"}, Bounds: bounds}
}

func TestStartWaitsForTheListeningLineAndReadyz(t *testing.T) {
	p, err := Start(context.Background(), fakeOptions(t, "200"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.URL(), "http://127.0.0.1:") || strings.HasSuffix(p.URL(), ":1") {
		t.Errorf("URL = %q: the first listening line's address", p.URL())
	}
	if code, err := Probe(context.Background(), nil, p.URL(), "/readyz"); err != nil || code != http.StatusOK {
		t.Errorf("Probe = %d, %v", code, err)
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	if p.ExitErr() != nil {
		t.Errorf("a SIGTERM'd fake gateway exits cleanly, got %v", p.ExitErr())
	}
	if got := p.LogLines("stopped"); len(got) != 1 {
		t.Errorf("the log read to its end holds the last line: %v", p.LogLines())
	}
	if err := p.Stop(time.Second); err != nil {
		t.Errorf("Stop of a stopped gateway: %v", err)
	}
}

func TestStartFails(t *testing.T) {
	tests := []struct {
		name, readyz, errPart string
	}{
		{"exits before listening", "exit", "exited before it listened"},
		{"never ready", "503", "/readyz to answer 200"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := fakeOptions(t, tc.readyz)
			o.Bounds.GatewayStart = 500 * time.Millisecond
			_, err := Start(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("Start error = %v, want it to say %q", err, tc.errPart)
			}
			if !strings.Contains(err.Error(), "its log:") {
				t.Errorf("the error carries no log: %v", err)
			}
		})
	}
}

func TestKill(t *testing.T) {
	p, err := Start(context.Background(), fakeOptions(t, "200"))
	if err != nil {
		t.Fatal(err)
	}
	p.Kill()
	select {
	case <-p.Exited():
	default:
		t.Fatal("Kill returned before the process was gone")
	}
	if p.ExitErr() == nil {
		t.Error("a killed process has an exit error")
	}
}

func TestReadLog(t *testing.T) {
	tests := []struct {
		name    string
		log     string
		wantURL string
	}{
		{"listening line", `{"msg":"listening","addr":"127.0.0.1:5"}` + "\n", "http://127.0.0.1:5"},
		{"listening line with its scheme", `{"msg":"listening","addr":"127.0.0.1:5","scheme":"https"}` + "\n", "https://127.0.0.1:5"},
		{"first listening line only", `{"msg":"listening","addr":"a:1"}` + "\n" + `{"msg":"listening","addr":"b:2"}` + "\n", "http://a:1"},
		{"other messages and text", "boot\n" + `{"msg":"started"}` + "\n" + `{"msg":"listening"}` + "\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Process{}
			addr := make(chan string, 2)
			p.readLog(strings.NewReader(tc.log), addr)
			close(addr)
			if got := <-addr; got != tc.wantURL {
				t.Errorf("URL %q, want %q", got, tc.wantURL)
			}
			if got := len(p.LogLines()); got != strings.Count(tc.log, "\n") {
				t.Errorf("%d lines kept, want every one", got)
			}
		})
	}
}

func TestLogLinesAndTail(t *testing.T) {
	p := &Process{lines: []string{"a ns1 x", "b ns2 x", "c ns1 y", "d ns1 x"}}
	tests := []struct {
		contains []string
		want     string
	}{
		{nil, "a ns1 x|b ns2 x|c ns1 y|d ns1 x"},
		{[]string{"ns1"}, "a ns1 x|c ns1 y|d ns1 x"},
		{[]string{"ns1", "x"}, "a ns1 x|d ns1 x"},
		{[]string{"ns3"}, ""},
	}
	for _, tc := range tests {
		if got := strings.Join(p.LogLines(tc.contains...), "|"); got != tc.want {
			t.Errorf("LogLines(%q) = %q, want %q", tc.contains, got, tc.want)
		}
	}
	if got := p.tail(2); got != "c ns1 y\nd ns1 x" {
		t.Errorf("tail(2) = %q", got)
	}
	if got := p.tail(10); strings.Count(got, "\n") != 3 {
		t.Errorf("tail(10) of 4 lines = %q", got)
	}
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	tests := []struct {
		base, path string
		want       int
		wantErr    bool
	}{
		{srv.URL, "/readyz", http.StatusServiceUnavailable, false},
		{srv.URL, "/healthz", http.StatusOK, false},
		{"http://127.0.0.1:1", "/readyz", 0, true},
		{"::bad", "/readyz", 0, true},
	}
	for _, tc := range tests {
		code, err := Probe(context.Background(), nil, tc.base, tc.path)
		if code != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Probe(%q, %q) = %d, %v; want %d, error %t", tc.base, tc.path, code, err, tc.want, tc.wantErr)
		}
	}
}

// Probe asks an HTTPS gateway with the client it is given: the one that trusts the gateway's CA
// gets the answer, the default client fails the handshake.
func TestProbeUsesTheGivenClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	if code, err := Probe(context.Background(), srv.Client(), srv.URL, "/readyz"); err != nil || code != http.StatusOK {
		t.Errorf("Probe with a client that trusts the certificate = %d, %v; want 200", code, err)
	}
	if _, err := Probe(context.Background(), nil, srv.URL, "/readyz"); err == nil {
		t.Error("Probe with the default client trusted a certificate it has no CA for")
	}
}
