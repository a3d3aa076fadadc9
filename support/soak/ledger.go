package soak

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// ledger counts, per RemediationRequest (namespace/name), how often a gateway process logged it
// as created. It is only a diagnostic: when the created metric disagrees with the cluster, it
// names the objects that no process counted, or that one counted twice. The metric is the
// contract; the log line is the gateway's own account of each increment (it logs "signal
// persisted" with status "created" right after counting).
type ledger map[string]int

// createdLine is the part of the gateway's log line that the ledger reads.
type createdLine struct {
	Msg       string `json:"msg"`
	Status    string `json:"status"`
	Namespace string `json:"rr_namespace"`
	Name      string `json:"rr_name"`
}

// add reads one process's log lines.
func (l ledger) add(lines []string) {
	for _, line := range lines {
		var rec createdLine
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "signal persisted" || rec.Status != "created" {
			continue
		}
		l[rec.Namespace+"/"+rec.Name]++
	}
}

// compare returns the objects (namespace/name) the ledger has no creation for, and those it has
// more than one for.
func (l ledger) compare(objects []string) (uncounted, twice []string) {
	for _, o := range objects {
		if l[o] == 0 {
			uncounted = append(uncounted, o)
		}
	}
	for o, n := range l {
		if n > 1 {
			twice = append(twice, o)
		}
	}
	slices.Sort(uncounted)
	slices.Sort(twice)
	return uncounted, twice
}

// Bounds of the log evidence the report carries; the gateway logs every retry, so a whole trail
// can be long.
const (
	maxTrails     = 5
	maxTrailLines = 40
	maxErrorLines = 50
)

// trail is the log lines of one fingerprint (the gateway puts it on every line about a signal),
// in order, with the retry lines counted rather than listed: they would crowd out the outcomes.
func trail(lines []string, fingerprint string) []string {
	var out []string
	retries := 0
	for _, l := range lines {
		switch {
		case fingerprint == "" || !strings.Contains(l, fingerprint):
		case strings.Contains(l, `"msg":"retrying kubernetes api call"`):
			retries++
		default:
			out = append(out, l)
		}
	}
	if retries > 0 {
		out = append(out, fmt.Sprintf("(%d retry lines left out)", retries))
	}
	if len(out) > maxTrailLines {
		out = append(out[:maxTrailLines:maxTrailLines], fmt.Sprintf("... and %d more lines", len(out)-maxTrailLines))
	}
	return out
}

// errorLines are the gateway's error-level lines about requests (a permanent API error, for one:
// a soak that injects only transient faults should see none). Lines without a request id are
// the client libraries' own, such as the delegating authorizer's during an outage.
func errorLines(lines []string) []string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, `"level":"ERROR"`) && strings.Contains(l, `"request_id"`) {
			out = append(out, l)
		}
	}
	if len(out) > maxErrorLines {
		out = append(out[:maxErrorLines:maxErrorLines], fmt.Sprintf("... and %d more lines", len(out)-maxErrorLines))
	}
	return out
}
