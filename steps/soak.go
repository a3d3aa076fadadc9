package steps

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/support/soak"
)

// Steps of the chaos soak (support/soak): real Alertmanagers push many alerts into a dedicated
// gateway while a seeded schedule of faults (5xx, 429, resets, black holes, latency, whole-API
// outages, a SIGKILL of the gateway) plays, and the verdict is read from the cluster alone. The
// soak's own timeline and summary are attached to the scenario, and its JSON report is written
// beside the run's other reports (soak.json).
func registerSoakSteps(sc *godog.ScenarioContext) {
	sc.Step(`^a soak of (\d+) alerts over (\d+) fingerprints runs through (\d+) real Alertmanagers while the API and the gateway fail at random(?:, and (\d+) remediation requests are deleted behind the gateway's back before the check)?$`, runSoak)
	sc.Step(`^no alert was lost and none was doubled$`, soakNothingLost)
	sc.Step(`^every alert was counted at least once per Alertmanager that delivered it$`, soakCounted)
	sc.Step(`^the gateway's metrics agree with the cluster$`, soakMetricsAgree)
	sc.Step(`^every kind of fault fired$`, soakAllFaultsFired)
	sc.Step(`^the soak reports exactly the deleted remediation requests as lost, and fails$`, soakReportsDeleted)
}

// soakRun is the scenario's part of the soak steps: the report of the soak it ran, and its
// timeline and summary, which a failure's evidence also reads.
type soakRun struct {
	mu     sync.Mutex
	report *soak.Report
	log    string
}

func (r *soakRun) set(rep *soak.Report, log string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report, r.log = rep, log
}

// logText is the soak's timeline and summary; empty when no soak ran.
func (r *soakRun) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log
}

// result is the soak's report and log, or an error when no soak ran.
func (r *soakRun) result() (*soak.Report, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.report == nil {
		return nil, "", fmt.Errorf("no soak ran in this scenario")
	}
	return r.report, r.log, nil
}

func runSoak(ctx context.Context, alerts, fingerprints, alertmanagers int, deleteBehind string) error {
	st := state(ctx)
	cfg := soak.CI()
	cfg.Alerts, cfg.Fingerprints, cfg.Alertmanagers = alerts, fingerprints, alertmanagers
	if deleteBehind != "" {
		fmt.Sscan(deleteBehind, &cfg.DeleteBehind)
	}
	var out bytes.Buffer
	cfg.Out = &out
	rep, err := st.run.Soak(ctx, cfg)
	log := out.String()
	if rep != nil {
		var b bytes.Buffer
		rep.PrintTimeline(&b)
		rep.PrintSummary(&b)
		log += "\n" + b.String()
	}
	st.soak.set(rep, log)
	if rep != nil {
		if werr := writeSoakReport(st.run, rep, cfg.DeleteBehind > 0); werr != nil {
			return werr
		}
	}
	if err != nil {
		return fmt.Errorf("the soak could not run: %w\n%s", err, log)
	}
	return nil
}

// writeSoakReport writes the soak's JSON report beside the run's other reports.
func writeSoakReport(run runDriver, rep *soak.Report, deletedBehind bool) error {
	name := "soak.json"
	if deletedBehind {
		name = "soak-delete-behind.json"
	}
	path, err := run.ReportPath(name)
	if err != nil {
		return err
	}
	return rep.WriteJSON(path)
}

func soakNothingLost(ctx context.Context) error {
	st := state(ctx)
	r, log, err := st.soak.result()
	if err != nil {
		return err
	}
	if len(r.Lost) > 0 || len(r.Doubled) > 0 || !r.Drained {
		return fmt.Errorf("lost %d %v, doubled %d %v, drained %v (seed %d to replay):\n%s", len(r.Lost), r.Lost, len(r.Doubled), r.Doubled, r.Drained, r.Seed, log)
	}
	return nil
}

func soakCounted(ctx context.Context) error {
	st := state(ctx)
	r, log, err := st.soak.result()
	if err != nil {
		return err
	}
	if len(r.ShortCounted) > 0 || len(r.Unexpected) > 0 {
		return fmt.Errorf("short-counted %v, unexpected %v (seed %d):\n%s", r.ShortCounted, r.Unexpected, r.Seed, log)
	}
	return nil
}

func soakMetricsAgree(ctx context.Context) error {
	st := state(ctx)
	r, log, err := st.soak.result()
	if err != nil {
		return err
	}
	for _, f := range r.Failed {
		if strings.Contains(f, "metric") {
			return fmt.Errorf("%s (seed %d):\n%s", f, r.Seed, log)
		}
	}
	return nil
}

func soakAllFaultsFired(ctx context.Context) error {
	st := state(ctx)
	r, log, err := st.soak.result()
	if err != nil {
		return err
	}
	if len(r.KindsNotFired) > 0 {
		return fmt.Errorf("fault kinds that never fired: %v (seed %d):\n%s", r.KindsNotFired, r.Seed, log)
	}
	for _, f := range r.Failed {
		if !strings.Contains(f, "metric") { // the metrics have a step (and a scenario) of their own
			return fmt.Errorf("the soak failed: %s (seed %d):\n%s", f, r.Seed, log)
		}
	}
	return nil
}

// soakReportsDeleted is the proof that the soak's checker can fail: with remediation requests
// deleted behind the gateway's back, it must name exactly those as lost and fail the soak.
func soakReportsDeleted(ctx context.Context) error {
	st := state(ctx)
	r, log, err := st.soak.result()
	if err != nil {
		return err
	}
	if len(r.DeletedBehind) == 0 || !r.DeletedBehindAllLost || len(r.Lost) != len(r.DeletedBehind) || r.OK() {
		return fmt.Errorf("deleted %v behind the gateway's back; the soak reported lost %v and ok=%v: the checker cannot see a loss:\n%s", r.DeletedBehind, r.Lost, r.OK(), log)
	}
	return nil
}
