package soak

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The gateway's metric names, as docs/design.md fixes them.
const (
	metricReceived     = "gateway_signals_received_total"
	metricCreated      = "gateway_signals_created_total"
	metricDeduplicated = "gateway_signals_deduplicated_total"
	metricRejected     = "gateway_signals_rejected_total"
	metricRetries      = "gateway_k8s_api_retries_total"
	metricAPIErrors    = "gateway_k8s_api_errors_total"
	metricUnconfirmed  = "gateway_unconfirmed_creations"
)

// Counters are the gateway's signal counters as one process's /metrics show them, or their sum
// over the processes of a run: a SIGKILL takes a process's counters with it, so the soak reads
// them just before each kill (see killer) and adds them up.
type Counters struct {
	Received     int            `json:"received"`
	Created      int            `json:"created"`
	Deduplicated int            `json:"deduplicated"`
	Rejected     map[string]int `json:"rejected"`  // by HTTP code
	Retries      map[string]int `json:"retries"`   // by reason
	APIErrors    map[string]int `json:"apiErrors"` // by class
	// Unconfirmed is gateway_unconfirmed_creations: first occurrences the process wrote without
	// an answer and had not settled. Read at a process's end, each is an object it may have
	// created without counting it: by that many its Created may fall short, never more.
	Unconfirmed int `json:"unconfirmed"`
}

// Plus is the sum of two processes' counters.
func (c Counters) Plus(o Counters) Counters {
	sum := func(a, b map[string]int) map[string]int {
		out := maps.Clone(a)
		if out == nil {
			out = map[string]int{}
		}
		for k, v := range b {
			out[k] += v
		}
		return out
	}
	return Counters{
		Received:     c.Received + o.Received,
		Created:      c.Created + o.Created,
		Deduplicated: c.Deduplicated + o.Deduplicated,
		Rejected:     sum(c.Rejected, o.Rejected),
		Retries:      sum(c.Retries, o.Retries),
		APIErrors:    sum(c.APIErrors, o.APIErrors),
		Unconfirmed:  c.Unconfirmed + o.Unconfirmed,
	}
}

// scrape reads the gateway's /metrics as the scraper identity (a real ServiceAccount token
// allowed to get /metrics), with client, which trusts the gateway's CA.
func scrape(ctx context.Context, client *http.Client, baseURL, token string) (Counters, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return Counters{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return Counters{}, fmt.Errorf("scraping the gateway's /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return Counters{}, fmt.Errorf("scraping the gateway's /metrics: HTTP %d: %s", resp.StatusCode, body)
	}
	return parseCounters(resp.Body)
}

func parseCounters(r io.Reader) (Counters, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return Counters{}, fmt.Errorf("the gateway's /metrics are not in the Prometheus text format: %w", err)
	}
	for _, name := range []string{metricCreated, metricUnconfirmed} {
		if families[name] == nil {
			return Counters{}, fmt.Errorf("the gateway's /metrics have no %s", name)
		}
	}
	total := func(name string) int {
		n := 0.0
		for _, m := range families[name].GetMetric() {
			n += m.GetCounter().GetValue()
		}
		return int(n)
	}
	by := func(name, label string) map[string]int {
		out := map[string]int{}
		for _, m := range families[name].GetMetric() {
			if v := int(m.GetCounter().GetValue()); v > 0 {
				out[labelValue(m, label)] += v
			}
		}
		return out
	}
	return Counters{
		Received:     total(metricReceived),
		Created:      total(metricCreated),
		Deduplicated: total(metricDeduplicated),
		Rejected:     by(metricRejected, "code"),
		Retries:      by(metricRetries, "reason"),
		APIErrors:    by(metricAPIErrors, "class"),
		Unconfirmed:  int(families[metricUnconfirmed].GetMetric()[0].GetGauge().GetValue()),
	}, nil
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
