package soak

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Config sizes one soak. The zero value of every field but Out means its default (Full's); Seed
// 0 means a new seed, which Run prints and records, so that a failing run can be replayed.
type Config struct {
	// Alerts is how many distinct alerts are pushed (default 1,000). Each one is a distinct
	// Alertmanager alert (its own soak_seq label) of one of the Fingerprints: the gateway must
	// count every one of them as an occurrence of its fingerprint.
	Alerts int
	// Fingerprints is how many distinct gateway fingerprints the alerts fall on (default 200);
	// each gets Alerts/Fingerprints alerts, give or take one.
	Fingerprints int
	// Namespaces is how many soak namespaces the fingerprints are spread over (default 4).
	Namespaces int
	// Alertmanagers is how many Alertmanagers run (default 2). Like Prometheus with an HA pair,
	// the soak pushes every alert to every one of them, and without gossip each one delivers it:
	// the gateway sees every alert once per Alertmanager, concurrently, which is what makes a
	// doubled RemediationRequest possible at all.
	Alertmanagers int
	// BatchSize is how many alerts one push carries; each push is its own Alertmanager group,
	// hence one notification (default 5).
	BatchSize int
	// Duration is the length of the schedule: pushes and faults happen inside it (default
	// 60 ms per alert, at least 15 s).
	Duration time.Duration
	// Kills is how many times the gateway is SIGKILLed and restarted (default 1; at least 1).
	Kills int
	// Seed makes the schedule: the same seed and sizes give the same alerts, batches and faults.
	Seed int64
	// DeleteBehind deletes that many RemediationRequests behind the gateway's back after the
	// queues have drained and before the check, so the run must report exactly those as lost:
	// the proof (`make e2e-must-fail`) that the soak can fail.
	DeleteBehind int
	// DrainTimeout bounds the wait for the Alertmanagers to deliver everything after the
	// schedule; zero means the harness's Scenario bound.
	DrainTimeout time.Duration
	// Out receives the progress lines, the fault timeline and the summary; nil discards them.
	Out io.Writer
	// Log receives the Alertmanagers' own log lines; nil discards them.
	Log io.Writer
}

// Full is the size of `make soak`: 1,000 alerts over 200 fingerprints in 4 namespaces, through
// 2 Alertmanagers, over a 60-second schedule with two outages and one SIGKILL (the last fault
// is done by 85% of it; the run then waits for the drain by state, not by the clock).
func Full() Config {
	return Config{Alerts: 1000, Fingerprints: 200, Namespaces: 4, Alertmanagers: 2, BatchSize: 5, Kills: 1}
}

// CI is the small size for pipelines: 200 alerts over 40 fingerprints, the same namespaces and
// Alertmanagers, a 15-second schedule with every fault kind and one SIGKILL; the whole command
// (harness included) takes about 28 s on 2 cores.
func CI() Config {
	return Config{Alerts: 200, Fingerprints: 40, Namespaces: 4, Alertmanagers: 2, BatchSize: 5, Kills: 1}
}

// withDefaults fills the zero fields from Full and derives Duration.
func (c Config) withDefaults() Config {
	full := Full()
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Alerts, full.Alerts)
	def(&c.Fingerprints, full.Fingerprints)
	def(&c.Namespaces, full.Namespaces)
	def(&c.Alertmanagers, full.Alertmanagers)
	def(&c.BatchSize, full.BatchSize)
	def(&c.Kills, full.Kills)
	if c.Duration == 0 {
		c.Duration = max(15*time.Second, time.Duration(c.Alerts)*60*time.Millisecond)
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// minDuration leaves room for one fault of every kind plus the outages and kills.
const minDuration = 10 * time.Second

// validate rejects sizes that cannot make a meaningful soak; call it after withDefaults.
func (c Config) validate() error {
	var errs []error
	if c.Alerts < 1 || c.Fingerprints < 1 || c.Namespaces < 1 || c.Alertmanagers < 1 || c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("alerts %d, fingerprints %d, namespaces %d, alertmanagers %d, batch size %d: all must be positive",
			c.Alerts, c.Fingerprints, c.Namespaces, c.Alertmanagers, c.BatchSize))
	}
	if c.Fingerprints > c.Alerts {
		errs = append(errs, fmt.Errorf("%d fingerprints need at least as many alerts, got %d", c.Fingerprints, c.Alerts))
	}
	if c.Kills < 1 {
		errs = append(errs, fmt.Errorf("kills %d: a soak has at least one SIGKILL", c.Kills))
	}
	if c.Duration < minDuration {
		errs = append(errs, fmt.Errorf("duration %s: at least %s, to fit one fault of every kind", c.Duration, minDuration))
	}
	if c.DeleteBehind < 0 || c.DeleteBehind > c.Fingerprints {
		errs = append(errs, fmt.Errorf("delete-behind %d: between 0 and the %d fingerprints", c.DeleteBehind, c.Fingerprints))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("soak config: %w", err)
	}
	return nil
}
