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
	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/settings"
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
			st := &scenario{h: &harness.Harness{}, gw: launched{&harness.Gateway{Proxy: p}}, ns: "ns1"}
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
			err = st.faultsFired()
			if tc.wantErr == "" && err != nil {
				t.Fatalf("faultsFired() = %v, want nil", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("faultsFired() = %v, want an error containing %q", err, tc.wantErr)
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

// TestGatewayConfigFollowsTheFlagsInOrder: the bounds a scenario asserts come from its gateway's
// flags as the gateway reads them: the suite's, the scenario's own, then E2E_GATEWAY_ARGS.
func TestGatewayConfigFollowsTheFlagsInOrder(t *testing.T) {
	tests := []struct {
		name         string
		scenario     []string
		env          []string
		wantDeadline time.Duration
	}{
		{name: "suite", wantDeadline: 5 * time.Second},
		{name: "scenario", scenario: []string{"--request-deadline=10s"}, wantDeadline: 10 * time.Second},
		{name: "environment wins", scenario: []string{"--request-deadline=10s"}, env: []string{"--request-deadline=7s"}, wantDeadline: 7 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &scenario{h: &harness.Harness{Settings: settings.Settings{GatewayArgs: tc.env}}, gwArgs: tc.scenario}
			if got := st.gatewayConfig().requestDeadline; got != tc.wantDeadline {
				t.Errorf("request deadline = %s, want %s", got, tc.wantDeadline)
			}
		})
	}
}
