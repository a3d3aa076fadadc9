package alertmanager

import (
	"bytes"
	"context"
	"fmt"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Delivery is what Alertmanager's /metrics say about its webhook notifications. A notification
// is one flush of an aggregation group to the receiver; a request is one HTTP attempt within it.
// So a 503 answered twice and then a 200 is one notification and three requests, two of them
// failed; a 400 is one failed notification of one failed request, sent again (a new notification)
// only at the next group interval.
type Delivery struct {
	// Notifications is alertmanager_notifications_total{integration="webhook"}.
	Notifications int
	// NotificationsFailed is alertmanager_notifications_failed_total{integration="webhook"},
	// summed over its reason label.
	NotificationsFailed int
	// Requests is alertmanager_notification_requests_total{integration="webhook"}.
	Requests int
	// RequestsFailed is alertmanager_notification_requests_failed_total{integration="webhook"}.
	RequestsFailed int
}

// Delivered is the number of notifications that reached the receiver: the requests that
// succeeded, since a notification ends at its first successful request. It is not Notifications
// minus NotificationsFailed: Alertmanager counts a notification when it begins, so that difference
// includes one still in flight, whose request may yet fail and be sent again (seen: a gateway
// killed "after" a notification that was in fact still being answered).
func (d Delivery) Delivered() int { return d.Requests - d.RequestsFailed }

func (d Delivery) String() string {
	return fmt.Sprintf("%d notifications (%d failed), %d requests (%d failed)", d.Notifications, d.NotificationsFailed, d.Requests, d.RequestsFailed)
}

// Delivery scrapes /metrics and returns the webhook counters.
func (a *Alertmanager) Delivery(ctx context.Context) (Delivery, error) {
	var body bytes.Buffer
	code, err := a.get(ctx, "/metrics", &body)
	if err != nil {
		return Delivery{}, fmt.Errorf("scraping Alertmanager's /metrics: %w", err)
	}
	if code != http.StatusOK {
		return Delivery{}, fmt.Errorf("scraping Alertmanager's /metrics: HTTP %d", code)
	}
	return parseDelivery(&body)
}

func parseDelivery(r *bytes.Buffer) (Delivery, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return Delivery{}, fmt.Errorf("parsing Alertmanager's /metrics: %w", err)
	}
	sum := func(name string) int {
		total := 0.0
		for _, m := range families[name].GetMetric() {
			if label(m, "integration") == "webhook" {
				total += m.GetCounter().GetValue()
			}
		}
		return int(total)
	}
	return Delivery{
		Notifications:       sum("alertmanager_notifications_total"),
		NotificationsFailed: sum("alertmanager_notifications_failed_total"),
		Requests:            sum("alertmanager_notification_requests_total"),
		RequestsFailed:      sum("alertmanager_notification_requests_failed_total"),
	}, nil
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
