package harness

import (
	"strings"
	"testing"
)

func TestSettingsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, s Settings)
		wantErr string
	}{
		{name: "defaults", env: nil, check: func(t *testing.T, s Settings) {
			if s.FallbackNamespace != "kubernaut-system" || s.KeepFailed || s.ContractMode() {
				t.Errorf("defaults = %+v", s)
			}
		}},
		{name: "contract mode", env: map[string]string{"E2E_GATEWAY_URL": "http://gw.example:8080/"}, check: func(t *testing.T, s Settings) {
			if !s.ContractMode() || s.GatewayURL != "http://gw.example:8080" {
				t.Errorf("GatewayURL = %q", s.GatewayURL)
			}
		}},
		{name: "keep failed", env: map[string]string{"E2E_KEEP_FAILED": "1"}, check: func(t *testing.T, s Settings) {
			if !s.KeepFailed {
				t.Error("KeepFailed = false")
			}
		}},
		{name: "gateway args", env: map[string]string{"E2E_GATEWAY_ARGS": "--retry-attempts=1  --log-level=debug"}, check: func(t *testing.T, s Settings) {
			if strings.Join(s.GatewayArgs, " ") != "--retry-attempts=1 --log-level=debug" {
				t.Errorf("GatewayArgs = %q", s.GatewayArgs)
			}
		}},
		{name: "service account", env: map[string]string{"E2E_GATEWAY_SERVICE_ACCOUNT": "ops/gw"}, check: func(t *testing.T, s Settings) {
			if s.GatewayServiceAccount != "ops/gw" {
				t.Errorf("GatewayServiceAccount = %q", s.GatewayServiceAccount)
			}
		}},
		{name: "bad service account", env: map[string]string{"E2E_GATEWAY_SERVICE_ACCOUNT": "gw"}, wantErr: "write namespace/name"},
		{name: "bad url", env: map[string]string{"E2E_GATEWAY_URL": "gw:8080"}, wantErr: "is not an http(s) URL"},
		{name: "bad keep", env: map[string]string{"E2E_KEEP_FAILED": "yes"}, wantErr: "use 1 or 0"},
		{name: "bad arg", env: map[string]string{"E2E_GATEWAY_ARGS": "retry=1"}, wantErr: "is not a --flag=value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := SettingsFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}
