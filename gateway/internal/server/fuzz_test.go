package server_test

import (
	"net/http"
	"testing"
)

func addSeeds(f *testing.F) {
	for _, name := range []string{"batch-3-firing.json", "batch-mixed-resolved.json", "single-node-target.json"} {
		f.Add(fixture(f, name), "application/json")
	}
	f.Add([]byte(`{"type":"Warning","reason":"OOMKilled","involvedObject":{"kind":"Pod","name":"p","namespace":"n"}}`), "application/json")
	f.Add([]byte(`{"type":"Normal","reason":"Pulled","involvedObject":{"kind":"Node","name":"n"}}`), "application/json; charset=utf-8")
	f.Add([]byte(`{"alerts":[{"labels":{"alertname":"A","namespace":"Bad NS","pod":"p"}}]}`), "application/json")
	f.Add([]byte(`{"alerts":[{"labels":{"alertname":"A","namespace":"`+"\xff\xfe"+`"}}]}`), "application/json")
	f.Add([]byte(`{"reason":"X","firstTimestamp":"9999-12-31T23:59:59-01:00","involvedObject":{"kind":"Pod","name":"p","namespace":"a"}}`), "application/json")
	f.Add([]byte(`{"alerts":[{"labels":{"alertname":"A"},"startsAt":"0000-01-01T00:00:00+01:00"}]}`), "application/json")
	f.Add([]byte(`garbage`), "text/plain")
	f.Add([]byte{}, "")
}

// FuzzPrometheusHandler: whatever the body, the handler must not panic nor blame the cluster (5xx)
// for the sender's input.
func FuzzPrometheusHandler(f *testing.F) {
	addSeeds(f)
	g := newGateway(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		rec := g.do(http.MethodPost, "/api/v1/signals/prometheus", contentType, body)
		if rec.Code >= 500 {
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body.String())
		}
	})
}

// FuzzEventHandler is FuzzPrometheusHandler for the event endpoint.
func FuzzEventHandler(f *testing.F) {
	addSeeds(f)
	g := newGateway(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		rec := g.do(http.MethodPost, "/api/v1/signals/kubernetes-event", contentType, body)
		if rec.Code >= 500 {
			t.Fatalf("%d for %q: %s", rec.Code, body, rec.Body.String())
		}
	})
}
