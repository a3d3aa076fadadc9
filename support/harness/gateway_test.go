package harness

import (
	"context"
	"errors"
	"strings"
	"testing"

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
