package steps

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cucumber/godog"

	"github.com/kubernaut/gateway-contract/support/repo"
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

func runSoak(ctx context.Context, alerts, fingerprints, alertmanagers int, deleteBehind string) error {
	st := state(ctx)
	cfg := soak.CI()
	cfg.Alerts, cfg.Fingerprints, cfg.Alertmanagers = alerts, fingerprints, alertmanagers
	if deleteBehind != "" {
		fmt.Sscan(deleteBehind, &cfg.DeleteBehind)
	}
	var out bytes.Buffer
	cfg.Out = &out
	rep, err := soak.Run(ctx, st.h, cfg)
	st.mu.Lock()
	st.soak, st.soakLog = rep, out.String()
	st.mu.Unlock()
	if rep != nil {
		var b bytes.Buffer
		rep.PrintTimeline(&b)
		rep.PrintSummary(&b)
		st.soakLog += "\n" + b.String()
		name := "soak.json"
		if cfg.DeleteBehind > 0 {
			name = "soak-delete-behind.json"
		}
		dir := st.h.Settings.ReportDir
		if !filepath.IsAbs(dir) {
			if dir, err = repo.Path(dir); err != nil {
				return err
			}
		}
		if werr := rep.WriteJSON(filepath.Join(dir, name)); werr != nil {
			return werr
		}
	}
	if err != nil {
		return fmt.Errorf("the soak could not run: %w\n%s", err, st.soakLog)
	}
	return nil
}

func (st *scenario) soakReport() (*soak.Report, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.soak == nil {
		return nil, fmt.Errorf("no soak ran in this scenario")
	}
	return st.soak, nil
}

func soakNothingLost(ctx context.Context) error {
	st := state(ctx)
	r, err := st.soakReport()
	if err != nil {
		return err
	}
	if len(r.Lost) > 0 || len(r.Doubled) > 0 || !r.Drained {
		return fmt.Errorf("lost %d %v, doubled %d %v, drained %v (seed %d to replay):\n%s", len(r.Lost), r.Lost, len(r.Doubled), r.Doubled, r.Drained, r.Seed, st.soakLog)
	}
	return nil
}

func soakCounted(ctx context.Context) error {
	st := state(ctx)
	r, err := st.soakReport()
	if err != nil {
		return err
	}
	if len(r.ShortCounted) > 0 || len(r.Unexpected) > 0 {
		return fmt.Errorf("short-counted %v, unexpected %v (seed %d):\n%s", r.ShortCounted, r.Unexpected, r.Seed, st.soakLog)
	}
	return nil
}

func soakMetricsAgree(ctx context.Context) error {
	st := state(ctx)
	r, err := st.soakReport()
	if err != nil {
		return err
	}
	for _, f := range r.Failed {
		if strings.Contains(f, "metric") {
			return fmt.Errorf("%s (seed %d):\n%s", f, r.Seed, st.soakLog)
		}
	}
	return nil
}

func soakAllFaultsFired(ctx context.Context) error {
	st := state(ctx)
	r, err := st.soakReport()
	if err != nil {
		return err
	}
	if len(r.KindsNotFired) > 0 {
		return fmt.Errorf("fault kinds that never fired: %v (seed %d):\n%s", r.KindsNotFired, r.Seed, st.soakLog)
	}
	for _, f := range r.Failed {
		if !strings.Contains(f, "metric") { // the metrics have a step (and a scenario) of their own
			return fmt.Errorf("the soak failed: %s (seed %d):\n%s", f, r.Seed, st.soakLog)
		}
	}
	return nil
}

// soakReportsDeleted is the proof that the soak's checker can fail: with remediation requests
// deleted behind the gateway's back, it must name exactly those as lost and fail the soak.
func soakReportsDeleted(ctx context.Context) error {
	st := state(ctx)
	r, err := st.soakReport()
	if err != nil {
		return err
	}
	if len(r.DeletedBehind) == 0 || !r.DeletedBehindAllLost || len(r.Lost) != len(r.DeletedBehind) || r.OK() {
		return fmt.Errorf("deleted %v behind the gateway's back; the soak reported lost %v and ok=%v: the checker cannot see a loss:\n%s", r.DeletedBehind, r.Lost, r.OK(), st.soakLog)
	}
	return nil
}
