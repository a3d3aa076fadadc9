package steps

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubernaut/gateway-contract/support/poll"
)

// The scraper tries /metrics again only after a 503 auth-unavailable in the contract's form, as
// Prometheus would retry a target that asks for it; any other answer, a malformed 503 among them,
// fails the step at once, so that the retry cannot hide a broken answer.
func TestScrapeRetriesOnlyAWellFormedAuthUnavailable(t *testing.T) {
	problem := func(slug string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]any{
				"type": problemTypeBase + slug, "title": "t", "status": 503, "detail": "d",
				"instance": r.URL.Path, "requestId": r.Header.Get("X-Request-ID"),
			})
		}
	}
	metrics := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("# TYPE gateway_up gauge\ngateway_up 1\n"))
	}
	plain503 := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }
	forbidden := func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) }
	for _, tc := range []struct {
		name     string
		answers  []func(http.ResponseWriter, *http.Request) // the last one repeats
		wantErr  string
		wantSent int64
	}{
		{"200 at once", []func(http.ResponseWriter, *http.Request){metrics}, "", 1},
		{"auth-unavailable, then 200", []func(http.ResponseWriter, *http.Request){problem("auth-unavailable"), metrics}, "", 2},
		{"a 503 without problem details is final", []func(http.ResponseWriter, *http.Request){plain503, metrics}, "/metrics answered HTTP 503", 1},
		{"a 503 of another type is final", []func(http.ResponseWriter, *http.Request){problem("kubernetes-unavailable"), metrics}, "/metrics answered HTTP 503", 1},
		{"a 403 is final", []func(http.ResponseWriter, *http.Request){forbidden, metrics}, "/metrics answered HTTP 403", 1},
		{"auth-unavailable throughout ends at the Request bound", []func(http.ResponseWriter, *http.Request){problem("auth-unavailable")}, "/metrics to answer 200", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sent atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer scraper-token" {
					t.Errorf("the scrape carried Authorization %q, not the scraper's token", r.Header.Get("Authorization"))
				}
				n := int(sent.Add(1))
				tc.answers[min(n, len(tc.answers))-1](w, r)
			}))
			defer srv.Close()
			b := poll.Defaults()
			b.Request, b.Interval = 300*time.Millisecond, 10*time.Millisecond
			st := &scenario{
				ns:  "e2e-test-ns",
				gw:  deployed{url: srv.URL},
				run: fakeRun{bounds: b, scraper: "scraper-token"},
			}
			families, err := st.scrape(context.Background())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("scrape() = %v, want the metrics", err)
			case tc.wantErr == "" && families["gateway_up"] == nil:
				t.Fatalf("scrape() = %v, want gateway_up among them", families)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("scrape() = %v, want an error with %q", err, tc.wantErr)
			}
			if tc.wantSent > 0 && sent.Load() != tc.wantSent {
				t.Errorf("the scraper sent %d requests, want %d", sent.Load(), tc.wantSent)
			}
		})
	}
}
