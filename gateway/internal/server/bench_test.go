package server_test

import (
	"net/http"
	"testing"
)

// BenchmarkPrometheusBatch measures the request path (parse, dedup against the fake API, respond)
// for the three-alert fixture; after the first iteration every alert is a duplicate.
func BenchmarkPrometheusBatch(b *testing.B) {
	g := newGateway(b)
	body := fixture(b, "batch-3-firing.json")
	b.ReportAllocs()
	for b.Loop() {
		if rec := g.postAlerts(body); rec.Code != http.StatusCreated && rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkRejectInvalid measures the cost of refusing a bad body, which must stay far cheaper.
func BenchmarkRejectInvalid(b *testing.B) {
	g := newGateway(b)
	body := []byte(`{"alerts":[{"labels":{"pod":"p"}}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if rec := g.postAlerts(body); rec.Code != http.StatusBadRequest {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
