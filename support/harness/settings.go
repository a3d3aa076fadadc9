// Package harness assembles one run's world: a cluster from the chosen provider with the CRD
// installed, the namespace generator, the fault proxy, and the shared gateway (or, in contract
// mode, a gateway that is already deployed). Steps get a *Harness and nothing else that is shared.
package harness

import (
	"fmt"
	"net/url"
	"strings"
)

// Settings are read from the environment once per run.
type Settings struct {
	// GatewayURL (E2E_GATEWAY_URL) points the suite at a deployed gateway instead of launching one:
	// contract mode. Scenarios that need the fault proxy or a dedicated gateway then fail with a
	// reason, unless they are excluded by tag (~@fault-injection,~@dedicated-gateway).
	GatewayURL string
	// FallbackNamespace (E2E_FALLBACK_NAMESPACE) must match the gateway's --fallback-namespace.
	FallbackNamespace string
	// KeepFailed (E2E_KEEP_FAILED=1) keeps a failed scenario's namespace for inspection.
	KeepFailed bool
	// GatewayServiceAccount (E2E_GATEWAY_SERVICE_ACCOUNT, namespace/name) is the deployed gateway's
	// identity in contract mode, for the permission scenarios; the default is the manifest's.
	GatewayServiceAccount string
	// GatewayArgs (E2E_GATEWAY_ARGS, space separated) are added to the launched gateways' flags,
	// after the suite's own, so they win. `make e2e-must-fail` uses it to turn retries off.
	GatewayArgs []string
}

// SettingsFromEnv reads Settings, rejecting values that cannot work.
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		GatewayURL:            strings.TrimSpace(getenv("E2E_GATEWAY_URL")),
		FallbackNamespace:     strings.TrimSpace(getenv("E2E_FALLBACK_NAMESPACE")),
		GatewayArgs:           strings.Fields(getenv("E2E_GATEWAY_ARGS")),
		GatewayServiceAccount: strings.TrimSpace(getenv("E2E_GATEWAY_SERVICE_ACCOUNT")),
	}
	if s.GatewayServiceAccount == "" {
		s.GatewayServiceAccount = "kubernaut-system/kubernaut-gateway"
	}
	if ns, name, ok := strings.Cut(s.GatewayServiceAccount, "/"); !ok || ns == "" || name == "" {
		return s, fmt.Errorf("E2E_GATEWAY_SERVICE_ACCOUNT=%q: write namespace/name", s.GatewayServiceAccount)
	}
	if s.FallbackNamespace == "" {
		s.FallbackNamespace = "kubernaut-system"
	}
	switch v := strings.TrimSpace(getenv("E2E_KEEP_FAILED")); v {
	case "", "0", "false":
	case "1", "true":
		s.KeepFailed = true
	default:
		return s, fmt.Errorf("E2E_KEEP_FAILED=%q: use 1 or 0", v)
	}
	if s.GatewayURL != "" {
		u, err := url.Parse(s.GatewayURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return s, fmt.Errorf("E2E_GATEWAY_URL=%q is not an http(s) URL such as http://gateway.example:8080", s.GatewayURL)
		}
		s.GatewayURL = strings.TrimSuffix(s.GatewayURL, "/")
	}
	for _, a := range s.GatewayArgs {
		if !strings.HasPrefix(a, "--") {
			return s, fmt.Errorf("E2E_GATEWAY_ARGS: %q is not a --flag=value", a)
		}
	}
	return s, nil
}

// ContractMode reports whether the suite drives a deployed gateway it did not launch.
func (s Settings) ContractMode() bool { return s.GatewayURL != "" }
