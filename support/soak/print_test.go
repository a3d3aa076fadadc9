package soak

import (
	"strings"
	"testing"
)

// The timeline's evidence column must tell a fault that fired from one that was never reached
// or did not finish: a failed soak is read from it, and "no matching request" for a kill that
// never began sends the reader after the wrong cause.
func TestEvidenceSaysWhyAFaultDidNotFire(t *testing.T) {
	for _, tc := range []struct {
		name string
		rec  FaultRecord
		want string
	}{
		{"rule that fired", FaultRecord{Kind: Kind5xx, Action: "503", Fired: true, Hits: 2, Codes: map[int]int{503: 2}}, "hit 2 times"},
		{"rule in force that met no request", FaultRecord{Kind: Kind5xx, Action: "503"}, "NOT FIRED (no matching request"},
		{"rule ended with an error", FaultRecord{Kind: KindReset, Action: "reset", Error: "ended to make room"}, "NOT FIRED: ended to make room"},
		{"rule never reached", FaultRecord{Kind: KindLatency}, "NOT REACHED"},
		{"kill never reached", FaultRecord{Kind: KindKill}, "NOT REACHED"},
		{"kill that began and failed", FaultRecord{Kind: KindKill, Action: "SIGKILL, then a restart on the same address"}, "NOT DONE"},
		{"kill that happened", FaultRecord{Kind: KindKill, Action: "SIGKILL", Fired: true, Kill: &KillRecord{Pid: 7, Exit: "signal: killed"}}, "pid 7 ended by signal: killed"},
		{"outage", FaultRecord{Kind: KindOutage, Action: "the whole API unreachable", Outage: &OutageRecord{}}, "proxy down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rec.evidence(); !strings.Contains(got, tc.want) {
				t.Errorf("evidence = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
