package signal

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

func TestFingerprint(t *testing.T) {
	sha := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	tests := []struct {
		name, signal, namespace, kind, target string
		want                                  string
	}{
		{"pod", "KubePodCrashLooping", "payments", "Pod", "api-1", sha("KubePodCrashLooping:payments:Pod:api-1")},
		{"no namespace", "NodeNotReady", "", "Node", "worker-3", sha("NodeNotReady::Node:worker-3")},
		{"cluster", "Watchdog", "", "Cluster", "cluster", sha("Watchdog::Cluster:cluster")},
		{"unicode", "Ålert", "ns", "Pod", "p", sha("Ålert:ns:Pod:p")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fingerprint(tt.signal, tt.namespace, tt.kind, tt.target)
			assert.Equal(t, tt.want, got)
			assert.Regexp(t, `^[a-f0-9]{64}$`, got)
		})
	}
	assert.NotEqual(t, Fingerprint("a", "b", "Pod", "c"), Fingerprint("a", "", "Pod", "c"),
		"the namespace is part of the identity")
}

func TestAlertTarget(t *testing.T) {
	tests := []struct {
		name      string
		labels    map[string]string
		wantNS    string
		want      Target
		wantScope bool // cluster-scoped
	}{
		{"pod wins over everything", map[string]string{"namespace": "a", "pod": "p", "deployment": "d", "node": "n"}, "a", Target{KindPod, "p"}, false},
		{"deployment", map[string]string{"namespace": "a", "deployment": "d", "service": "s"}, "a", Target{KindDeployment, "d"}, false},
		{"statefulset", map[string]string{"namespace": "a", "statefulset": "st", "daemonset": "ds"}, "a", Target{KindStatefulSet, "st"}, false},
		{"daemonset", map[string]string{"namespace": "a", "daemonset": "ds", "node": "n"}, "a", Target{KindDaemonSet, "ds"}, false},
		{"node is cluster-scoped even with a namespace", map[string]string{"namespace": "a", "node": "n", "service": "s"}, "a", Target{KindNode, "n"}, true},
		{"service", map[string]string{"namespace": "a", "service": "s"}, "a", Target{KindService, "s"}, false},
		{"namespace only", map[string]string{"namespace": "a"}, "a", Target{KindNamespace, "a"}, true},
		{"exported_namespace fallback", map[string]string{"exported_namespace": "b", "pod": "p"}, "b", Target{KindPod, "p"}, false},
		{"namespace beats exported_namespace", map[string]string{"namespace": "a", "exported_namespace": "b", "pod": "p"}, "a", Target{KindPod, "p"}, false},
		{"pod without namespace", map[string]string{"pod": "p"}, "", Target{KindPod, "p"}, true},
		{"nothing", map[string]string{}, "", Target{KindCluster, ClusterTargetName}, true},
		{"empty label values are absent", map[string]string{"namespace": "", "pod": "", "service": "s"}, "", Target{KindService, "s"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			labels := map[string]string{"alertname": "A"}
			for k, v := range tt.labels {
				labels[k] = v
			}
			s, err := parseAlert(mustJSON(t, map[string]any{"status": "firing", "labels": labels}), now)
			assert.NoError(t, err)
			assert.Equal(t, tt.want, s.Target)
			assert.Equal(t, tt.wantNS, s.Namespace)
			assert.Equal(t, tt.wantScope, s.ClusterScoped())
			assert.Equal(t, Fingerprint("A", tt.wantNS, tt.want.Kind, tt.want.Name), s.Fingerprint)
			if tt.wantScope {
				assert.Empty(t, s.TargetNamespace())
			} else {
				assert.Equal(t, tt.wantNS, s.TargetNamespace())
			}
		})
	}
}

func TestNormalizeSeverity(t *testing.T) {
	tests := map[string]string{
		"critical":  v1alpha1.SeverityCritical,
		"CRITICAL":  v1alpha1.SeverityCritical,
		" Critical": v1alpha1.SeverityCritical,
		"warning":   v1alpha1.SeverityWarning,
		"info":      v1alpha1.SeverityInfo,
		"Info":      v1alpha1.SeverityInfo,
		"":          v1alpha1.SeverityWarning,
		"page":      v1alpha1.SeverityWarning,
		"high":      v1alpha1.SeverityWarning,
		"none":      v1alpha1.SeverityWarning,
	}
	for in, want := range tests {
		assert.Equal(t, want, NormalizeSeverity(in), "severity %q", in)
	}
}

func TestEventSeverity(t *testing.T) {
	for _, reason := range []string{"OOMKilled", "Evicted", "FailedScheduling", "NodeNotReady", "FailedMount"} {
		assert.Equal(t, v1alpha1.SeverityCritical, EventSeverity(reason), reason)
	}
	for _, reason := range []string{"BackOff", "Unhealthy", "FailedCreate", "oomkilled", ""} {
		assert.Equal(t, v1alpha1.SeverityWarning, EventSeverity(reason), reason)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short", "abc", 10, "abc"},
		{"exact", "abcd", 4, "abcd"},
		{"ascii cut", "abcdef", 4, "abcd"},
		{"zero", "abc", 0, ""},
		{"two-byte rune not split", "aé", 2, "a"},
		{"two-byte rune fits", "aé", 3, "aé"},
		{"three-byte rune not split", "ab€", 4, "ab"},
		{"four-byte rune not split", "a😀b", 4, "a"},
		{"four-byte rune fits", "a😀b", 5, "a😀"},
		{"invalid utf-8 still bounded", "a\x80\x80\x80\x80\x80", 3, "a\x80\x80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Truncate(tt.in, tt.limit)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), max(tt.limit, 0))
			if utf8.ValidString(tt.in) {
				assert.True(t, utf8.ValidString(got))
			}
		})
	}
}

func TestLimitsApplied(t *testing.T) {
	long := strings.Repeat("é", 5000) // 10000 bytes
	raw := mustJSON(t, map[string]any{
		"labels":      map[string]string{"alertname": "A", "namespace": "n", "big": long},
		"annotations": map[string]string{"description": long},
		"padding":     strings.Repeat("x", 70*1024),
	})
	s, err := parseAlert(raw, now)
	assert.NoError(t, err)
	assert.Len(t, s.Labels["big"], MaxLabelValueBytes)
	assert.Len(t, s.Annotations["description"], MaxAnnotationValueBytes)
	assert.LessOrEqual(t, len(s.Payload), MaxPayloadBytes)
	assert.True(t, utf8.ValidString(s.Labels["big"]))
	assert.Equal(t, "n", s.Labels["namespace"])
}

func TestUnstorableTimesFallBackToReceived(t *testing.T) {
	alerts := []byte(`{"alerts":[{"labels":{"alertname":"A"},"startsAt":"0000-01-01T00:00:00+01:00"},` +
		`{"labels":{"alertname":"B"},"startsAt":"9999-12-31T23:30:00-01:00"},` +
		`{"labels":{"alertname":"C"},"startsAt":"2026-01-01T10:00:00+02:00"}]}`)
	signals, err := ParseAlertmanager(alerts, now)
	assert.NoError(t, err)
	assert.Equal(t, now, signals[0].FiringTime)
	assert.Equal(t, now, signals[1].FiringTime)
	assert.Equal(t, time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC), signals[2].FiringTime)

	ev, err := ParseEvent([]byte(`{"reason":"X","firstTimestamp":"9999-12-31T23:59:59-01:00","involvedObject":{"kind":"Pod","name":"p"}}`), now)
	assert.NoError(t, err)
	assert.Equal(t, now, ev.FiringTime)
}
