package alertmanager

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/kubernaut/gateway-contract/support/repo"
)

// TestWebhookMessageDecodesRealPayloads decodes the captured payloads strictly: a field that the
// real sender sends and WebhookMessage lacks fails the test.
func TestWebhookMessageDecodesRealPayloads(t *testing.T) {
	tests := []struct {
		file       string
		status     string
		alerts     int
		resolved   int
		groupLabel string
	}{
		{file: "batch-3-firing.json", status: "firing", alerts: 3, groupLabel: "namespace"},
		{file: "batch-mixed-resolved.json", status: "firing", alerts: 3, resolved: 1, groupLabel: "namespace"},
		{file: "single-node-target.json", status: "firing", alerts: 1, groupLabel: "alertname"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "alertmanager", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			var m WebhookMessage
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("decoding %s: %v", tc.file, err)
			}
			if m.Version != "4" || m.Status != tc.status || len(m.Alerts) != tc.alerts || m.GroupLabels[tc.groupLabel] == "" {
				t.Fatalf("%s decoded to version %q status %q, %d alerts, group labels %v", tc.file, m.Version, m.Status, len(m.Alerts), m.GroupLabels)
			}
			resolved := 0
			for _, a := range m.Alerts {
				if a.Status == "resolved" {
					resolved++
				}
			}
			if resolved != tc.resolved {
				t.Errorf("%s has %d resolved alerts, want %d", tc.file, resolved, tc.resolved)
			}
		})
	}
}

func TestConfigRendersTheOptions(t *testing.T) {
	cfg, err := Config(Options{
		ReceiverURL:     "http://127.0.0.1:8080/api/v1/signals/prometheus",
		BearerTokenFile: "/run/token",
		CAFile:          "/run/ca.crt",
		GroupWait:       250 * time.Millisecond,
		GroupInterval:   90 * time.Second,
		SendResolved:    true,
		MaxAlerts:       50,
		Timeout:         3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := string(cfg)
	for _, want := range []string{
		"url: http://127.0.0.1:8080/api/v1/signals/prometheus",
		"type: Bearer", "credentials_file: /run/token", "ca_file: /run/ca.crt",
		"group_wait: 250ms", "group_interval: 90000ms", "repeat_interval: 3600000ms",
		"- alertname", "- namespace",
		"send_resolved: true", "max_alerts: 50", "timeout: 3000ms",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("alertmanager.yml lacks %q:\n%s", want, got)
		}
	}
	// Each duration must parse as Alertmanager parses it.
	for _, d := range []time.Duration{time.Millisecond, 100 * time.Millisecond, time.Second, 90 * time.Second, time.Hour} {
		if _, err := model.ParseDuration(duration(d)); err != nil {
			t.Errorf("model.ParseDuration(%q) = %v", duration(d), err)
		}
		if back, err := time.ParseDuration(duration(d)); err != nil || back != d {
			t.Errorf("time.ParseDuration(%q) = %s, %v", duration(d), back, err)
		}
	}
	if _, err := Config(Options{}); err == nil {
		t.Error("Config without a ReceiverURL succeeded")
	}
}

// TestPinMatchesBuildModule keeps Version and the build module in step.
func TestPinMatchesBuildModule(t *testing.T) {
	path, err := repo.Path("support", "alertmanager", "build", "go.mod")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "github.com/prometheus/alertmanager " + Version + "\n"; !strings.Contains(string(data), want) {
		t.Errorf("build module does not require %q", strings.TrimSpace(want))
	}
}
