// Command verdict prints the status of one requirement in a traceability.json, for scripts that
// check a run's outcome by requirement (hack/must-fail.sh).
package main

import (
	"fmt"
	"os"

	"github.com/kubernaut/gateway-contract/support/report"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: verdict <traceability.json> <requirement id>")
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
	for _, r := range rep.Requirements {
		if r.ID == os.Args[2] {
			fmt.Println(r.Status)
			return
		}
	}
	fmt.Fprintf(os.Stderr, "verdict: %s is not in %s\n", os.Args[2], os.Args[1])
	os.Exit(1)
}
