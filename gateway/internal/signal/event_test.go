package signal

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

const oomEvent = `{
  "apiVersion": "v1", "kind": "Event",
  "metadata": {"name": "api-1.17f", "namespace": "payments", "labels": {"team": "pay"}},
  "involvedObject": {"kind": "Pod", "name": "api-1", "namespace": "payments"},
  "reason": "OOMKilled", "message": "container api was OOM killed", "type": "Warning",
  "source": {"component": "kubelet"},
  "firstTimestamp": "2026-11-26T01:00:00Z", "lastTimestamp": "2026-11-26T01:05:00Z", "count": 3
}`

func TestParseEventWarning(t *testing.T) {
	s, err := ParseEvent([]byte(oomEvent), now)
	require.NoError(t, err)
	assert.Equal(t, "OOMKilled", s.Name)
	assert.Equal(t, v1alpha1.SeverityCritical, s.Severity)
	assert.Equal(t, v1alpha1.SignalTypeKubernetesEvent, s.Type)
	assert.Equal(t, v1alpha1.SignalSourceKubernetesEvents, s.Source)
	assert.Equal(t, "payments", s.Namespace)
	assert.Equal(t, Target{"Pod", "api-1"}, s.Target)
	assert.Equal(t, Fingerprint("OOMKilled", "payments", "Pod", "api-1"), s.Fingerprint)
	assert.Equal(t, time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC), s.FiringTime.UTC())
	assert.Equal(t, "container api was OOM killed", s.Annotations["message"])
	assert.Equal(t, "pay", s.Labels["team"])
	assert.Equal(t, "kubelet", s.Labels["component"])
	assert.Empty(t, s.IgnoreReason)
	assert.Contains(t, s.Payload, `"reason":"OOMKilled"`)
}

func TestParseEventVariants(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		wantSeverity string
		wantNS       string
		wantIgnore   string
		wantScoped   bool
	}{
		{"normal is ignored", `{"type":"Normal","reason":"Pulled","involvedObject":{"kind":"Pod","name":"p","namespace":"a"}}`,
			v1alpha1.SeverityWarning, "a", IgnoreNormalEvent, false},
		{"backoff is a warning", `{"type":"Warning","reason":"BackOff","involvedObject":{"kind":"Pod","name":"p","namespace":"a"}}`,
			v1alpha1.SeverityWarning, "a", "", false},
		{"metadata namespace fallback", `{"metadata":{"namespace":"m"},"type":"Warning","reason":"Evicted","involvedObject":{"kind":"Pod","name":"p"}}`,
			v1alpha1.SeverityCritical, "m", "", false},
		{"node event", `{"metadata":{"namespace":"default"},"type":"Warning","reason":"NodeNotReady","involvedObject":{"kind":"Node","name":"w"}}`,
			v1alpha1.SeverityCritical, "default", "", true},
		{"missing type is processed", `{"reason":"FailedMount","involvedObject":{"kind":"Pod","name":"p","namespace":"a"}}`,
			v1alpha1.SeverityCritical, "a", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseEvent([]byte(tt.body), now)
			require.NoError(t, err)
			assert.Equal(t, tt.wantSeverity, s.Severity)
			assert.Equal(t, tt.wantNS, s.Namespace)
			assert.Equal(t, tt.wantIgnore, s.IgnoreReason)
			assert.Equal(t, tt.wantScoped, s.ClusterScoped())
		})
	}
}

func TestParseEventInvalid(t *testing.T) {
	tests := map[string]string{
		"not json":         `{`,
		"array":            `[]`,
		"null":             `null`,
		"missing reason":   `{"type":"Warning","involvedObject":{"kind":"Pod","name":"p"}}`,
		"missing kind":     `{"type":"Warning","reason":"X","involvedObject":{"name":"p"}}`,
		"missing name":     `{"type":"Warning","reason":"X","involvedObject":{"kind":"Pod"}}`,
		"no involved":      `{"type":"Warning","reason":"X"}`,
		"count not number": `{"type":"Warning","reason":"X","involvedObject":{"kind":"Pod","name":"p"},"count":"many"}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseEvent([]byte(body), now)
			require.ErrorIs(t, err, ErrInvalidPayload)
		})
	}
}
