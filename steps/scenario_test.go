package steps

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
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
			st := &scenario{h: &harness.Harness{}, gw: &harness.Gateway{Proxy: p}, ns: "ns1"}
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
