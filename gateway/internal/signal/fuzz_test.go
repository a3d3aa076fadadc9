package signal

import (
	"testing"
	"time"
)

var fixtureNames = []string{"batch-3-firing.json", "batch-mixed-resolved.json", "single-node-target.json"}

// FuzzParseAlertmanager checks that any body either fails as ErrInvalidPayload or yields signals
// that satisfy the CRD's constraints.
func FuzzParseAlertmanager(f *testing.F) {
	for _, name := range fixtureNames {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"alerts":[{"labels":{"alertname":"A","pod":"p","namespace":"n"}}]}`))
	f.Add([]byte(`{"alerts":[]}`))
	f.Add([]byte(`{"alerts":[null]}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{"alerts":[{"labels":{"alertname":"A"},"startsAt":"0000-01-01T00:00:00+01:00"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		signals, err := ParseAlertmanager(body, now)
		if err != nil {
			return
		}
		if len(signals) == 0 {
			t.Fatal("no error and no signals")
		}
		for _, s := range signals {
			checkSignal(t, &s)
		}
	})
}

// FuzzParseEvent is FuzzParseAlertmanager for the event endpoint.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(oomEvent))
	f.Add([]byte(`{"type":"Normal","reason":"Pulled","involvedObject":{"kind":"Pod","name":"p"}}`))
	f.Add([]byte(`{"reason":"X","involvedObject":{"kind":"Node","name":"n"},"eventTime":"2026-01-01T00:00:00.000000Z"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"reason":"X","firstTimestamp":"9999-12-31T23:59:59-01:00","involvedObject":{"kind":"Pod","name":"p"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := ParseEvent(body, now)
		if err != nil {
			return
		}
		checkSignal(t, &s)
	})
}

func checkSignal(t *testing.T, s *Signal) {
	t.Helper()
	if s.Name == "" || s.Target.Kind == "" || s.Target.Name == "" {
		t.Fatalf("incomplete identity: %+v", s)
	}
	if len(s.Fingerprint) != 64 {
		t.Fatalf("fingerprint %q", s.Fingerprint)
	}
	switch s.Severity {
	case "critical", "warning", "info":
	default:
		t.Fatalf("severity %q", s.Severity)
	}
	if y := s.FiringTime.Year(); y < 1 || y > 9999 || s.FiringTime.Location() != time.UTC {
		t.Fatalf("firing time %v cannot be stored", s.FiringTime)
	}
	if len(s.Payload) > MaxPayloadBytes {
		t.Fatalf("payload of %d bytes", len(s.Payload))
	}
	for _, v := range s.Labels {
		if len(v) > MaxLabelValueBytes {
			t.Fatalf("label value of %d bytes", len(v))
		}
	}
	for _, v := range s.Annotations {
		if len(v) > MaxAnnotationValueBytes {
			t.Fatalf("annotation value of %d bytes", len(v))
		}
	}
}
