package steps

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func registerMetricSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the gateway's metrics show:$`, metricsShow)
	sc.Step(`^while the alert is in flight, the gateway's metrics show:$`, metricsShowWhileInFlight)
	sc.Step(`^the gateway's metrics time exactly (\d+) alert requests?$`, metricsTime)
}

// scrape reads the gateway's /metrics as the suite's scraper. The gateway checks the scraper with a
// TokenReview and a SubjectAccessReview through the API server, and under load (make flake
// LOAD=1) a review can miss its call timeout: the gateway then rightly answers 503
// auth-unavailable, "retry later". Like Prometheus, the scraper tries again, within the Request
// bound, but only after such a 503 in the contract's form (problem details and Retry-After, as
// checkProblem checks them); any other answer is final.
func (st *scenario) scrape(ctx context.Context) (map[string]*dto.MetricFamily, error) {
	var families map[string]*dto.MetricFamily
	err := st.bounds().Until(ctx, st.bounds().Request, "/metrics to answer 200", func(ctx context.Context) (bool, string, error) {
		f, unavailable, err := st.scrapeOnce(ctx)
		if unavailable != nil {
			return false, unavailable.String(), nil
		}
		families = f
		return err == nil, "", err
	})
	return families, err
}

// scrapeOnce scrapes once. A well-formed 503 auth-unavailable comes back as unavailable, for
// scrape to try again; every other failure is an error.
func (st *scenario) scrapeOnce(ctx context.Context) (families map[string]*dto.MetricFamily, unavailable *response, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.gw.URL()+"/metrics", nil)
	if err != nil {
		return nil, nil, err
	}
	id := st.nextRequestID()
	req.Header.Set("Authorization", "Bearer "+st.run.ScraperToken())
	req.Header.Set("X-Request-ID", id)
	hresp, err := st.gw.HTTPClient().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("scraping /metrics: %w", err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		resp := &response{requestID: id, path: "/metrics"}
		if err := resp.read(hresp); err != nil {
			return nil, nil, fmt.Errorf("reading the answer of /metrics: %w", err)
		}
		if resp.code == http.StatusServiceUnavailable && st.checkProblem(resp) == nil && resp.problem.Type == problemTypeBase+"auth-unavailable" {
			return nil, resp, nil
		}
		return nil, nil, fmt.Errorf("/metrics answered %s", resp)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err = parser.TextToMetricFamilies(hresp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("/metrics is not in the Prometheus text format: %w", err)
	}
	return families, nil, nil
}

var series = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$`)

// value sums the samples of a family whose labels include every label the series names.
func value(families map[string]*dto.MetricFamily, expr string) (float64, error) {
	m := series.FindStringSubmatch(strings.TrimSpace(expr))
	if m == nil {
		return 0, fmt.Errorf("cannot read the series %q: write name{label=\"value\"}", expr)
	}
	want := map[string]string{}
	if m[2] != "" {
		for _, pair := range strings.Split(m[2], ",") {
			k, v, ok := strings.Cut(pair, "=")
			if !ok {
				return 0, fmt.Errorf("cannot read the label %q in %q", pair, expr)
			}
			want[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	fam, ok := families[m[1]]
	if !ok {
		return 0, fmt.Errorf("the gateway exposes no metric %s", m[1])
	}
	var sum float64
next:
	for _, metric := range fam.GetMetric() {
		have := map[string]string{}
		for _, l := range metric.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case metric.Counter != nil:
			sum += metric.Counter.GetValue()
		case metric.Gauge != nil:
			sum += metric.Gauge.GetValue()
		case metric.Histogram != nil:
			sum += float64(metric.Histogram.GetSampleCount())
		}
	}
	return sum, nil
}

func metricsShow(ctx context.Context, table *godog.Table) error {
	st := state(ctx)
	if _, err := st.dedicated(); err != nil {
		return fmt.Errorf("exact metric values need a gateway no other scenario uses: %w", err)
	}
	families, err := st.scrape(ctx)
	if err != nil {
		return err
	}
	wrong, err := metricDifferences(families, table)
	if err != nil {
		return err
	}
	if len(wrong) > 0 {
		return fmt.Errorf("metrics differ: %s", strings.Join(wrong, "; "))
	}
	return nil
}

// metricsShowWhileInFlight waits, bounded, for the table's values while the alert sent without
// waiting is still unanswered. A value that shows only once the answer has come is not what the
// scenario claims (a gauge of work in progress must be right while the work is in progress), so
// an answer before the values, or during the reading that showed them, fails the step.
func metricsShowWhileInFlight(ctx context.Context, table *godog.Table) error {
	st := state(ctx)
	if _, err := st.dedicated(); err != nil {
		return fmt.Errorf("exact metric values need a gateway no other scenario uses: %w", err)
	}
	inflight := st.exchange.inflightAnswer()
	if inflight == nil {
		return fmt.Errorf("no alert is in flight: send one 'without waiting for the answer' first")
	}
	answered := func() *response {
		select {
		case resp := <-inflight:
			inflight <- resp // kept for the step that checks the answer
			return resp
		default:
			return nil
		}
	}
	seen := "no reading yet"
	return st.bounds().Until(ctx, st.bounds().Request, "the gateway's metrics to show the table while the alert is in flight", func(ctx context.Context) (bool, string, error) {
		if resp := answered(); resp != nil {
			return false, "", fmt.Errorf("the alert was answered (%s) before the metrics showed the table; last saw %s", resp, seen)
		}
		families, err := st.scrape(ctx) // retries a 503 itself
		if err != nil {
			return false, "", err
		}
		wrong, err := metricDifferences(families, table)
		if err != nil {
			return false, "", err
		}
		if len(wrong) > 0 {
			seen = strings.Join(wrong, "; ")
			return false, seen, nil
		}
		if resp := answered(); resp != nil {
			return false, "", fmt.Errorf("the alert was answered (%s) while the metrics that showed the table were read: it cannot tell whether they held while it was in flight", resp)
		}
		return true, "", nil
	})
}

// metricDifferences compares the families with a table of metric and value rows, and says how
// each differing metric differs.
func metricDifferences(families map[string]*dto.MetricFamily, table *godog.Table) ([]string, error) {
	if len(table.Rows) < 2 {
		return nil, fmt.Errorf("the metrics table needs a header | metric | value | and at least one row")
	}
	var wrong []string
	for i, row := range table.Rows[1:] {
		if len(row.Cells) != 2 {
			return nil, fmt.Errorf("metrics row %d: want | metric | value |", i+1)
		}
		want, err := strconv.ParseFloat(row.Cells[1].Value, 64)
		if err != nil {
			return nil, fmt.Errorf("the value %q is not a number", row.Cells[1].Value)
		}
		got, err := value(families, row.Cells[0].Value)
		if err != nil {
			return nil, err
		}
		if got != want {
			wrong = append(wrong, fmt.Sprintf("%s = %g, expected %g", row.Cells[0].Value, got, want))
		}
	}
	return wrong, nil
}

// metricsTime checks the request duration histogram of the alert endpoint: it timed exactly n
// requests, one per answer the scenario got, under the status code of each answer, and the time
// it measured is in seconds and no more than the senders waited for the answers.
func metricsTime(ctx context.Context, n int) error {
	st := state(ctx)
	families, err := st.scrape(ctx)
	if err != nil {
		return err
	}
	fam, ok := families["gateway_http_request_duration_seconds"]
	if !ok || fam.GetType() != dto.MetricType_HISTOGRAM {
		return fmt.Errorf("the gateway exposes no request duration histogram gateway_http_request_duration_seconds")
	}
	got, _ := value(families, `gateway_http_request_duration_seconds{handler="prometheus"}`)
	if got != float64(n) {
		return fmt.Errorf("expected %d timed alert requests, the histogram counts %g", n, got)
	}
	wantByCode := map[string]float64{}
	var waited time.Duration
	for _, r := range st.allResponses() {
		if r.path == alertPath {
			wantByCode[strconv.Itoa(r.code)]++
			waited += r.at.Sub(r.sentAt)
		}
	}
	if len(wantByCode) > 0 {
		for code, want := range wantByCode {
			if got, _ := value(families, `gateway_http_request_duration_seconds{handler="prometheus",code="`+code+`"}`); got != want {
				return fmt.Errorf("the gateway answered %g alert request(s) with %s, the histogram times %g under that code", want, code, got)
			}
		}
		var sum float64
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "handler" && l.GetValue() == "prometheus" {
					sum += m.GetHistogram().GetSampleSum()
				}
			}
		}
		if sum <= 0 || sum > waited.Seconds() {
			return fmt.Errorf("the histogram's alert requests took %gs in all, but the senders waited %s for their answers: durations must be in seconds, and within the requests", sum, waited)
		}
	}
	return nil
}
