package config

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// TestManifestGracePeriodCoversShutdown reads the Deployment a user applies
// (gateway/config/manager/manager.yaml) and parses its container's args and environment with
// this package's Parse, the gateway's own: the flags must be valid, and the kubelet's
// terminationGracePeriodSeconds must exceed --shutdown-delay plus --shutdown-timeout, or a
// rollout kills gateways that are still draining. Reading the flags' defaults from Parse keeps
// the manifest and the code from drifting apart.
func TestManifestGracePeriodCoversShutdown(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "manager", "manager.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		t.Fatalf("manager.yaml: %v", err)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("manager.yaml has %d containers, want the gateway alone", len(pod.Containers))
	}
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	cfg, err := Parse("gateway", c.Args, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("the manifest's args %q are not valid gateway flags: %v", c.Args, err)
	}
	if cfg.ShutdownDelay <= 0 {
		t.Errorf("--shutdown-delay is %s: without a delay the Service keeps sending to a stopping gateway", cfg.ShutdownDelay)
	}
	if pod.TerminationGracePeriodSeconds == nil {
		t.Fatal("no terminationGracePeriodSeconds: the default 30 s does not cover the shutdown")
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	if need := cfg.ShutdownDelay + cfg.ShutdownTimeout; grace <= need {
		t.Errorf("terminationGracePeriodSeconds %s does not exceed --shutdown-delay %s + --shutdown-timeout %s = %s",
			grace, cfg.ShutdownDelay, cfg.ShutdownTimeout, need)
	}
	if cfg.FallbackNamespace != d.Namespace {
		t.Errorf("--fallback-namespace %q, want the gateway's own namespace %q", cfg.FallbackNamespace, d.Namespace)
	}
	if cfg.Listen != ":8080" {
		t.Errorf("--listen %q, want :8080, the port the probes and the Service use", cfg.Listen)
	}
}
