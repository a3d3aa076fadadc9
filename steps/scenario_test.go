package steps

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/harness"
)

// TestAFaultThatNeverFiresFailsTheScenario checks the safety net the After hook applies: an injected
// fault the gateway never met fails the scenario, one it met does not.
func TestAFaultThatNeverFiresFailsTheScenario(t *testing.T) {
	tests := []struct {
		name    string
		fire    bool
		wantErr string
	}{
		{name: "never fired", fire: false, wantErr: "never fired"},
		{name: "fired", fire: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			upstream, _ := url.Parse("https://127.0.0.1:1") // never reached: the rule answers itself
			p, err := faultproxy.New(faultproxy.Options{Upstream: upstream, UpstreamTLS: &tls.Config{MinVersion: tls.VersionTLS12}})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Start(); err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			st := &scenario{run: fakeRun{}, gw: launched{g: &harness.Gateway{Proxy: p}}, ns: "ns1"}
			ctx := context.WithValue(context.Background(), ctxKey{}, st)
			if err := failNext(ctx, 1, "create a remediation request", "status 503"); err != nil {
				t.Fatal(err)
			}
			if tc.fire {
				pool := x509.NewCertPool()
				pool.AppendCertsFromPEM(p.CAData())
				c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
				resp, err := c.Post(p.URL()+"/apis/kubernaut.ai/v1alpha1/namespaces/"+st.ns+"/remediationrequests", "application/json", strings.NewReader("{}"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			err = st.faults.allFired()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("allFired() = %v, want nil", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("allFired() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestDeployedGatewayRefusesWhatNeedsControl: contract mode is one type; whatever needs the fault
// proxy or the process answers the contract-mode error that tells the user what to exclude.
func TestDeployedGatewayRefusesWhatNeedsControl(t *testing.T) {
	d := deployed{url: "http://127.0.0.1:1"}
	if _, err := d.Faults(); !errors.Is(err, harness.ErrContractMode) {
		t.Errorf("Faults() = %v, want ErrContractMode", err)
	}
	for name, err := range map[string]error{
		"Restart": d.Restart(context.Background(), false), "Terminate": d.Terminate(), "ExitErr": d.ExitErr(),
	} {
		if !errors.Is(err, harness.ErrContractMode) {
			t.Errorf("%s() = %v, want ErrContractMode", name, err)
		}
	}
	if d.URL() != "http://127.0.0.1:1" || len(d.LogLines("x")) != 1 {
		t.Errorf("URL() = %q, LogLines() = %q", d.URL(), d.LogLines("x"))
	}
}

// TestRedeliversOnOverloadOnlyWhereTheScenarioCausedNothing: the suite redelivers a 503 of an
// overloaded API like Alertmanager would, but never where a 503 is what the scenario is about.
func TestRedeliversOnOverloadOnlyWhereTheScenarioCausedNothing(t *testing.T) {
	answer := func(code int, slug string) *response {
		h := http.Header{}
		h.Set("Content-Type", "application/problem+json")
		h.Set("Retry-After", "1")
		return &response{requestID: "r1", path: alertPath, code: code, header: h, problem: &problem{
			Type: problemTypeBase + slug, Title: "t", Status: code, Detail: "d", Instance: alertPath, RequestID: "r1",
		}}
	}
	tests := []struct {
		name string
		resp *response
		st   *scenario
		want bool
	}{
		{name: "API slow, nothing injected", resp: answer(503, "kubernetes-unavailable"), want: true},
		{name: "access review slow, nothing injected", resp: answer(503, "auth-unavailable"), want: true},
		{name: "gateway overloaded, nothing injected", resp: answer(503, "overloaded"), want: true},
		{name: "a fault rule in play", resp: answer(503, "kubernetes-unavailable"), st: &scenario{faults: faultLog{rules: []*faultproxy.RuleHandle{nil}}}},
		{name: "a dedicated gateway", resp: answer(503, "kubernetes-unavailable"), st: &scenario{placement: placement{ownGW: true}}},
		{name: "a control plane of its own", resp: answer(503, "kubernetes-unavailable"), st: &scenario{placement: placement{cluster: &controlPlane{}}}},
		{name: "not a 503", resp: answer(500, "kubernetes-error")},
		{name: "no Retry-After", resp: func() *response { r := answer(503, "kubernetes-unavailable"); r.header.Del("Retry-After"); return r }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st
			if st == nil {
				st = &scenario{}
			}
			st.run = fakeRun{}
			st.gw = deployed{config: gatewayconf.Config{UnavailableRetryAfter: time.Second}}
			if got := st.redeliversOnOverload(tc.resp); got != tc.want {
				t.Errorf("redeliversOnOverload() = %t, want %t", got, tc.want)
			}
		})
	}
}
