package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/runid"
)

// Flood is a burst of signal requests with garbage bearer tokens, few distinct ones: the
// gateway remembers a refused token (--authn-deny-cache-ttl) and coalesces identical reviews in
// flight, so it should make about one TokenReview per distinct token, however many requests.
type Flood struct {
	Requests          int     `json:"requests"`
	DistinctTokens    int     `json:"distinctTokens"`
	Workers           int     `json:"workers"`
	Seconds           float64 `json:"seconds"`
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	DenyCacheTTL      float64 `json:"authnDenyCacheTTLSeconds"`
	// Unauthorized is the answers 401; every request should get one.
	Unauthorized int    `json:"unauthorized"`
	Other        int    `json:"other"`
	FirstOther   string `json:"firstOther,omitempty"`
	// TokenReviews is the POSTs to tokenreviews the fault proxy recorded during the flood;
	// SubjectAccessReviews should be 0 (an unauthenticated request is not authorized).
	TokenReviews           int     `json:"tokenReviews"`
	SubjectAccessReviews   int     `json:"subjectAccessReviews"`
	TokenReviewsPerRequest float64 `json:"tokenReviewsPerRequest"`
}

// countReviews counts the TokenReviews and SubjectAccessReviews created at or after marker.
func countReviews(records []faultproxy.Record, marker time.Time) (tokenReviews, accessReviews int) {
	for _, r := range records {
		if r.Time.Before(marker) || r.Method != http.MethodPost {
			continue
		}
		switch r.Resource {
		case "tokenreviews":
			tokenReviews++
		case "subjectaccessreviews":
			accessReviews++
		}
	}
	return tokenReviews, accessReviews
}

// flood runs the garbage-token flood against a gateway behind the fault proxy, which records
// its TokenReviews.
func (b *bench) flood(ctx context.Context, rep *Report) error {
	say := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "loadbench: "+format+"\n", args...) }
	fc := b.cfg.flood
	say("garbage-token flood: %d requests, %d distinct tokens, %d workers", fc.requests, fc.tokens, fc.workers)
	ns, err := b.namespace(ctx, "flood")
	if err != nil {
		return err
	}
	g, err := b.h.StartGateway(ctx, "loadbench-flood", production)
	if err != nil {
		return err
	}
	defer func() { _ = g.Stop() }()
	f := &Flood{Requests: fc.requests, DistinctTokens: fc.tokens, Workers: fc.workers, DenyCacheTTL: authnDenyCacheTTL(g.Config.Args()).Seconds()}
	prefix := "garbage-" + runid.New() + "-"
	var next atomic.Int64
	var mu sync.Mutex
	marker := time.Now()
	var wg sync.WaitGroup
	for range fc.workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= fc.requests {
					return
				}
				out := post(ctx, b.http, g.Process.URL(), prefix+fmt.Sprint(i%fc.tokens), ns, fmt.Sprintf("flood-%d", i))
				mu.Lock()
				if out.code == http.StatusUnauthorized {
					f.Unauthorized++
				} else {
					f.Other++
					if f.FirstOther == "" {
						f.FirstOther = fmt.Sprintf("HTTP %d %s", out.code, out.note)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	f.Seconds = time.Since(marker).Seconds()
	f.RequestsPerSecond = float64(f.Unauthorized+f.Other) / f.Seconds
	f.TokenReviews, f.SubjectAccessReviews = countReviews(g.Proxy.Requests(""), marker)
	f.TokenReviewsPerRequest = share(f.TokenReviews, f.Unauthorized+f.Other)
	rep.Flood = f
	for _, l := range f.lines() {
		say("  %s", l)
	}
	return nil
}

func (f *Flood) lines() []string {
	return []string{
		fmt.Sprintf("%d requests with %d distinct garbage tokens in %.1fs (%.0f/s, %d workers; deny cache %gs): %d answered 401, %d otherwise%s",
			f.Requests, f.DistinctTokens, f.Seconds, f.RequestsPerSecond, f.Workers, f.DenyCacheTTL, f.Unauthorized, f.Other, orNothing(f.FirstOther)),
		fmt.Sprintf("TokenReviews %d (%.3f per request), SubjectAccessReviews %d", f.TokenReviews, f.TokenReviewsPerRequest, f.SubjectAccessReviews),
	}
}

// authnDenyCacheTTL is --authn-deny-cache-ttl among args, else the gateway's documented default.
func authnDenyCacheTTL(args []string) time.Duration {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--authn-deny-cache-ttl="); ok {
			if d, err := time.ParseDuration(v); err == nil {
				return d
			}
		}
	}
	return 10 * time.Second
}

func orNothing(s string) string {
	if s == "" {
		return ""
	}
	return " (first: " + s + ")"
}

// section is a titled list of lines of the report.
type section struct {
	title string
	lines []string
}

// defenceSections are the overload and the flood, those measured.
func (r *Report) defenceSections() []section {
	var out []section
	if r.Overload != nil {
		out = append(out, section{"Overload (one gateway, production flags, senders redelivering after Retry-After)", r.Overload.lines()})
	}
	if r.Flood != nil {
		out = append(out, section{"Garbage-token flood", r.Flood.lines()})
	}
	return out
}
