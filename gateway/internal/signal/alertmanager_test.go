package signal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

var now = time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "alertmanager", name)) // the one copy of the recorded notifications
	require.NoError(t, err)
	return b
}

func TestParseAlertmanagerBatch(t *testing.T) {
	signals, err := ParseAlertmanager(fixture(t, "batch-3-firing.json"), now)
	require.NoError(t, err)
	require.Len(t, signals, 3)
	wantPods := []string{"api-7d9f-abcde", "api-7d9f-fghij", "worker-55c-xyz12"}
	seen := map[string]bool{}
	for i, s := range signals {
		assert.Equal(t, "KubePodCrashLooping", s.Name)
		assert.Equal(t, v1alpha1.SeverityCritical, s.Severity)
		assert.Equal(t, v1alpha1.SignalTypePrometheusAlert, s.Type)
		assert.Equal(t, v1alpha1.SignalSourceAlertmanager, s.Source)
		assert.Equal(t, "payments", s.Namespace)
		assert.Equal(t, Target{KindPod, wantPods[i]}, s.Target)
		assert.Equal(t, Fingerprint("KubePodCrashLooping", "payments", "Pod", wantPods[i]), s.Fingerprint)
		assert.Empty(t, s.IgnoreReason)
		assert.False(t, s.ClusterScoped())
		assert.Equal(t, time.Date(2026, 11, 26, 1, 5, 35, 407927977, time.UTC), s.FiringTime.UTC())
		assert.Equal(t, now, s.ReceivedTime)
		assert.Equal(t, "Pod is crash looping", s.Annotations["summary"])
		assert.Equal(t, wantPods[i], s.Labels["pod"])
		assert.False(t, seen[s.Fingerprint], "each alert has its own identity")
		seen[s.Fingerprint] = true

		var payload map[string]any
		require.NoError(t, json.Unmarshal([]byte(s.Payload), &payload), "the payload is that alert's JSON")
		assert.Equal(t, wantPods[i], payload["labels"].(map[string]any)["pod"])
		assert.NotContains(t, s.Payload, "\n", "stored compact")
	}
}

func TestParseAlertmanagerMixedResolved(t *testing.T) {
	signals, err := ParseAlertmanager(fixture(t, "batch-mixed-resolved.json"), now)
	require.NoError(t, err)
	require.Len(t, signals, 3)
	assert.Equal(t, IgnoreResolved, signals[0].IgnoreReason, "per-alert status decides, not the group's")
	assert.Empty(t, signals[1].IgnoreReason)
	assert.Empty(t, signals[2].IgnoreReason)

	firing, err := ParseAlertmanager(fixture(t, "batch-3-firing.json"), now)
	require.NoError(t, err)
	for i := range signals {
		assert.Equal(t, firing[i].Fingerprint, signals[i].Fingerprint, "resolution does not change identity")
	}
}

func TestParseAlertmanagerNodeTarget(t *testing.T) {
	signals, err := ParseAlertmanager(fixture(t, "single-node-target.json"), now)
	require.NoError(t, err)
	require.Len(t, signals, 1)
	s := signals[0]
	assert.Equal(t, "NodeNotReady", s.Name)
	assert.Equal(t, Target{KindNode, "worker-3"}, s.Target)
	assert.Empty(t, s.Namespace)
	assert.True(t, s.ClusterScoped())
	assert.Equal(t, v1alpha1.SeverityWarning, s.Severity)
	assert.Equal(t, Fingerprint("NodeNotReady", "", "Node", "worker-3"), s.Fingerprint)
}

func TestParseAlertmanagerUnknownSeverityKeepsOriginal(t *testing.T) {
	body := mustJSON(t, map[string]any{"alerts": []any{map[string]any{
		"status": "firing", "labels": map[string]string{"alertname": "A", "namespace": "n", "severity": "P1"},
	}}})
	signals, err := ParseAlertmanager(body, now)
	require.NoError(t, err)
	assert.Equal(t, v1alpha1.SeverityWarning, signals[0].Severity)
	assert.Equal(t, "P1", signals[0].Labels["severity"])
	assert.Equal(t, now, signals[0].FiringTime, "no startsAt: firing time is the receive time")
}

func TestParseAlertmanagerInvalid(t *testing.T) {
	tests := map[string]string{
		"not json":              `{"alerts": [`,
		"array":                 `[{"labels":{"alertname":"A"}}]`,
		"string":                `"hello"`,
		"null":                  `null`,
		"empty object":          `{}`,
		"empty alerts":          `{"alerts": []}`,
		"alerts not array":      `{"alerts": {"labels": {}}}`,
		"missing alertname":     `{"alerts": [{"status":"firing","labels":{"namespace":"a"}}]}`,
		"blank alertname":       `{"alerts": [{"status":"firing","labels":{"alertname":"  "}}]}`,
		"second alert bad":      `{"alerts": [{"labels":{"alertname":"A"}}, {"labels":{}}]}`,
		"null alert":            `{"alerts": [null]}`,
		"label not string":      `{"alerts": [{"labels":{"alertname":"A","pod":3}}]}`,
		"bad startsAt":          `{"alerts": [{"labels":{"alertname":"A"},"startsAt":"yesterday"}]}`,
		"trailing garbage":      `{"alerts": [{"labels":{"alertname":"A"}}]} x`,
		"resolved no alertname": `{"alerts": [{"status":"resolved","labels":{"pod":"p"}}]}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseAlertmanager([]byte(body), now)
			require.ErrorIs(t, err, ErrInvalidPayload)
		})
	}
}
