package harness

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kubernaut/gateway-contract/support/gatewayconf"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// TestContractModeRefusesToLaunch: with E2E_GATEWAY_URL set the suite must not start gateways
// of its own, and says why, so that a fault scenario cannot pass against a gateway it never
// reached.
func TestContractModeRefusesToLaunch(t *testing.T) {
	h := &Harness{Settings: settings.Settings{GatewayURL: "http://gateway.example:8080"}}
	_, err := h.StartGateway(context.Background(), "dedicated")
	if !errors.Is(err, ErrContractMode) {
		t.Fatalf("StartGateway() in contract mode = %v, want ErrContractMode", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "E2E_TAGS='~@launched-gateway'") {
		t.Fatalf("the error does not say how to exclude such scenarios: %s", msg)
	}
}

// TestGatewayConfigOrder: a launched gateway runs with the suite's values, then
// E2E_GATEWAY_ARGS, then the scenario's premise; a deployed one is said to run with the
// documented defaults and E2E_GATEWAY_ARGS, whatever a scenario's premise.
func TestGatewayConfigOrder(t *testing.T) {
	patient := func(c *gatewayconf.Config) { c.RequestDeadline = 10 * time.Second }
	tests := []struct {
		name         string
		url          string
		env          []string
		premises     []gatewayconf.Premise
		wantDeadline time.Duration
	}{
		{name: "suite", wantDeadline: 5 * time.Second},
		{name: "scenario", premises: []gatewayconf.Premise{patient}, wantDeadline: 10 * time.Second},
		{name: "environment", env: []string{"--request-deadline=7s"}, wantDeadline: 7 * time.Second},
		{name: "scenario wins over environment", env: []string{"--request-deadline=7s"}, premises: []gatewayconf.Premise{patient}, wantDeadline: 10 * time.Second},
		{name: "deployed", url: "http://gw:8080", wantDeadline: 10 * time.Second},
		{name: "deployed with environment", url: "http://gw:8080", env: []string{"--request-deadline=3s"}, wantDeadline: 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &Harness{Settings: settings.Settings{GatewayURL: tc.url, GatewayArgs: tc.env, FallbackNamespace: "kubernaut-system"}}
			c, err := h.GatewayConfig(tc.premises...)
			if err != nil {
				t.Fatal(err)
			}
			if c.RequestDeadline != tc.wantDeadline {
				t.Errorf("request deadline = %s, want %s", c.RequestDeadline, tc.wantDeadline)
			}
		})
	}
}
