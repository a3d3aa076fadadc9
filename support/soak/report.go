package soak

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/kubernaut/gateway-contract/support/alertmanager"
)

// Report is one soak's record and verdict. Run fills it; Failed says what went wrong, and the
// embedded check Result holds the lost, doubled, short-counted and unexpected objects by name.
type Report struct {
	Seed       int64         `json:"seed"`
	Sizes      Sizes         `json:"sizes"`
	Namespaces []string      `json:"namespaces"`
	Started    time.Time     `json:"started"`
	Phases     Phases        `json:"phases"`
	Faults     []FaultRecord `json:"faults"`
	// Alertmanagers say what each one delivered; Drained is whether every one delivered every
	// batch within the drain bound, DrainError what it last saw when not.
	Alertmanagers []AlertmanagerRecord `json:"alertmanagers"`
	Drained       bool                 `json:"drained"`
	DrainError    string               `json:"drainError,omitempty"`
	Gateway       GatewayRecord        `json:"gateway"`
	// MinOccurrences is the sum of the per-fingerprint floors (see the package doc).
	MinOccurrences int `json:"minOccurrences"`
	Result
	// DeletedBehind are the RemediationRequests (namespace/name) the run deleted behind the
	// gateway's back before the check (Config.DeleteBehind); each must be reported lost.
	DeletedBehind []string `json:"deletedBehind"`
	// DeletedBehindAllLost is whether the check reported exactly the deleted ones as lost.
	DeletedBehindAllLost bool `json:"deletedBehindAllLost"`
	// KindsNotFired are fault kinds of which not one fault was proven to fire.
	KindsNotFired []string `json:"kindsNotFired"`
	// Failed says in one line each why the soak failed; empty when it passed.
	Failed []string `json:"failed"`
}

// Sizes are the run's effective configuration.
type Sizes struct {
	Alerts        int      `json:"alerts"`
	Fingerprints  int      `json:"fingerprints"`
	Namespaces    int      `json:"namespaces"`
	Alertmanagers int      `json:"alertmanagers"`
	BatchSize     int      `json:"batchSize"`
	Batches       int      `json:"batches"`
	Schedule      Duration `json:"schedule"`
	Kills         int      `json:"kills"`
	DeleteBehind  int      `json:"deleteBehind"`
}

// Phases are the wall-clock durations of the run's parts.
type Phases struct {
	Setup    Duration `json:"setup"`
	Schedule Duration `json:"schedule"`
	Drain    Duration `json:"drain"`
	Check    Duration `json:"check"`
	Teardown Duration `json:"teardown"`
	Total    Duration `json:"total"`
}

// FaultRecord is one fault as planned and as it happened, with the evidence that it fired.
type FaultRecord struct {
	Index     int      `json:"index"`
	Kind      Kind     `json:"kind"`
	Planned   Duration `json:"planned"` // offset from the schedule's start
	Started   Duration `json:"started"` // when it was put in force
	For       Duration `json:"for,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
	Verb      string   `json:"verb,omitempty"`
	Action    string   `json:"action,omitempty"`
	Fired     bool     `json:"fired"`
	// Hits are the requests a rule fault applied to (faultproxy.RuleHandle.Hits): the proxy's own
	// record that the fault happened on the wire.
	Hits     int           `json:"hits,omitempty"`
	FirstHit Duration      `json:"firstHit,omitempty"`
	LastHit  Duration      `json:"lastHit,omitempty"`
	Codes    map[int]int   `json:"codes,omitempty"` // injected status (0: no answer) -> hits
	Outage   *OutageRecord `json:"outage,omitempty"`
	Kill     *KillRecord   `json:"kill,omitempty"`
	Error    string        `json:"error,omitempty"`
}

// OutageRecord is the proxy's record of an outage (faultproxy.Proxy.Outages).
type OutageRecord struct {
	Start Duration `json:"start"`
	End   Duration `json:"end"`
}

// KillRecord is the evidence of one SIGKILL and restart.
type KillRecord struct {
	Pid    int    `json:"pid"`
	Exit   string `json:"exit"` // how the process ended, as the OS reported it
	NewPid int    `json:"newPid"`
	// Restart is the time from the kill until the new process answered /readyz 200.
	Restart Duration `json:"restart"`
	// Counted are the killed process's counters, read while the freeze held them still.
	Counted Counters `json:"counted"`
	// FreezeHits are the API calls the freeze refused: the gateway was at work when it died.
	FreezeHits int `json:"freezeHits"`
}

// AlertmanagerRecord is what one Alertmanager delivered.
type AlertmanagerRecord struct {
	URL     string `json:"url"`
	Batches int    `json:"batches"`
	// Delivered are the notifications that ended in a successful request (Requests minus
	// RequestsFailed: each success ends its notification).
	Delivered int                   `json:"delivered"`
	Delivery  alertmanager.Delivery `json:"delivery"`
}

// GatewayRecord is the dedicated gateway's counters, per process and summed.
type GatewayRecord struct {
	Processes []ProcessRecord `json:"processes"`
	Total     Counters        `json:"total"`
	// Uncounted are RemediationRequests that no process logged as created (a diagnostic of a
	// metrics disagreement, from the gateway's "signal persisted" log lines); CountedTwice are
	// those logged as created more than once.
	Uncounted    []string `json:"uncounted,omitempty"`
	CountedTwice []string `json:"countedTwice,omitempty"`
	// Trails are the gateway's log lines about the first few of those objects' fingerprints.
	Trails map[string][]string `json:"trails,omitempty"`
	// Errors are the gateway's error-level log lines about requests, over every process.
	Errors []string `json:"errors,omitempty"`
}

// ProcessRecord is one gateway process and its final counters.
type ProcessRecord struct {
	Pid      int      `json:"pid"`
	Ended    string   `json:"ended"` // "sigkill" or "end of run"
	Counters Counters `json:"counters"`
}

// OK reports whether the soak passed: nothing lost, doubled, short-counted or unexpected, the
// metrics agree with the cluster, everything was delivered, and every fault kind fired.
func (r *Report) OK() bool { return r != nil && len(r.Failed) == 0 }

// verdict fills Failed from the rest of the report.
func (r *Report) verdict() {
	r.Failed = r.Result.Failures()
	for _, am := range r.Alertmanagers {
		if am.Delivered < am.Batches {
			r.Failed = append(r.Failed, fmt.Sprintf("Alertmanager %s delivered %d of %d batches", am.URL, am.Delivered, am.Batches))
		}
	}
	if len(r.DeletedBehind) > 0 && !r.DeletedBehindAllLost {
		r.Failed = append(r.Failed, fmt.Sprintf("the check did not report exactly the %d objects deleted behind the gateway's back as lost", len(r.DeletedBehind)))
	}
	if !r.Drained && r.DrainError != "" {
		r.Failed = append(r.Failed, "the queues did not drain: "+r.DrainError)
	}
	if len(r.KindsNotFired) > 0 {
		r.Failed = append(r.Failed, fmt.Sprintf("fault kinds that never fired (the soak proved nothing about them): %v", r.KindsNotFired))
	}
}

// WriteJSON writes the report, indented, creating the directory.
func (r *Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the soak report: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing the soak report: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the soak report: %w", err)
	}
	return nil
}

// Duration is a time.Duration that reads as "1.25s" in JSON and in the timeline.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(d.String())), nil }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return fmt.Errorf("duration %s: %w", b, err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String rounds to milliseconds.
func (d Duration) String() string { return time.Duration(d).Round(time.Millisecond).String() }
