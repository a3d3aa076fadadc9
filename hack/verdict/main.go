// Command verdict reads a traceability.json for scripts: with a requirement id it prints that
// requirement's status (hack/must-fail.sh); without one it prints the run's closing line,
// "scenarios: N passed, M failed" (.ci/run).
package main

import (
	"fmt"
	"os"

	"github.com/kubernaut/gateway-contract/support/report"
)

func main() {
	if len(os.Args) != 2 && len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: verdict <traceability.json> [requirement id]")
		os.Exit(2)
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "verdict: %v\n", err)
		os.Exit(2)
	}
	defer f.Close()
	rep, err := report.ReadJSON(f)
	if err != nil {
		fmt.Fprintf(os.Stderr, "verdict: %s: %v\n", os.Args[1], err)
		os.Exit(2)
	}
	if len(os.Args) == 2 {
		sc := rep.Summary.Scenarios
		fmt.Printf("scenarios: %d passed, %d failed\n", sc.Passed, sc.Failed+sc.Other)
		return
	}
	for _, r := range rep.Requirements {
		if r.ID == os.Args[2] {
			fmt.Println(r.Status)
			return
		}
	}
	fmt.Fprintf(os.Stderr, "verdict: %s is not in %s\n", os.Args[2], os.Args[1])
	os.Exit(1)
}
