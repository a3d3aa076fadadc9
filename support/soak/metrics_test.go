package soak

import (
	"maps"
	"strings"
	"testing"
)

const exposition = `# TYPE gateway_signals_created_total counter
gateway_signals_created_total{source="prometheus"} 7
gateway_signals_created_total{source="kubernetes-event"} 1
# TYPE gateway_signals_received_total counter
gateway_signals_received_total{source="prometheus"} 30
# TYPE gateway_signals_deduplicated_total counter
gateway_signals_deduplicated_total{source="prometheus"} 20
# TYPE gateway_signals_rejected_total counter
gateway_signals_rejected_total{source="prometheus",code="503"} 4
# TYPE gateway_k8s_api_retries_total counter
gateway_k8s_api_retries_total{reason="429"} 2
gateway_k8s_api_retries_total{reason="eof"} 0
gateway_k8s_api_retries_total{reason="connection-reset"} 3
# TYPE gateway_k8s_api_errors_total counter
gateway_k8s_api_errors_total{class="transient-exhausted"} 4
gateway_k8s_api_errors_total{class="permanent"} 0
# TYPE gateway_unconfirmed_creations gauge
gateway_unconfirmed_creations 2
`

func TestParseCountersAndAddThemAcrossProcesses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		text    string
		want    Counters
		wantErr string
	}{
		{
			name: "every source summed, zero series left out",
			text: exposition,
			want: Counters{Received: 30, Created: 8, Deduplicated: 20, Rejected: map[string]int{"503": 4},
				Retries: map[string]int{"429": 2, "connection-reset": 3}, APIErrors: map[string]int{"transient-exhausted": 4}, Unconfirmed: 2},
		},
		{name: "no created counter is an error, not a zero", text: "# TYPE up gauge\nup 1\n", wantErr: "no gateway_signals_created_total"},
		{name: "no unconfirmed gauge is an error, not a zero", text: strings.Split(exposition, "# TYPE gateway_unconfirmed")[0], wantErr: "no gateway_unconfirmed_creations"},
		{name: "not the text format", text: "<html>gateway</html>\n", wantErr: "not in the Prometheus text format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCounters(strings.NewReader(tc.text))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !equalCounters(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	one, _ := parseCounters(strings.NewReader(exposition))
	sum := Counters{}.Plus(one).Plus(one)
	if sum.Created != 16 || sum.Unconfirmed != 4 || sum.Retries["connection-reset"] != 6 || one.Retries["connection-reset"] != 3 {
		t.Errorf("sum of two processes %+v (the first must be left alone: %+v)", sum, one)
	}
}

func equalCounters(a, b Counters) bool {
	return a.Received == b.Received && a.Created == b.Created && a.Deduplicated == b.Deduplicated && a.Unconfirmed == b.Unconfirmed &&
		maps.Equal(a.Rejected, b.Rejected) && maps.Equal(a.Retries, b.Retries) && maps.Equal(a.APIErrors, b.APIErrors)
}
