package steps

import (
	"regexp"
	"testing"

	"github.com/kubernaut/gateway-contract/support/featurefile"
)

// launchedOnly are the steps that need a gateway the suite launched: the fault proxy on its path
// to the API, a gateway of the scenario's own, or a control plane of its own. Contract mode
// excludes their scenarios by the tag @launched-gateway, so a scenario with one of these steps
// and without the tag would fail there (make e2e-contract).
var launchedOnly = regexp.MustCompile(`^the Kubernetes API (will |fails every |answers this namespace's requests after|recovers)` +
	`|dedicated gateway|a control plane of its own|^the gateway is (killed|restarted|told to stop)`)

// TestLaunchedOnlyStepsAreTagged parses the features (Gherkin, not grep) and checks the tag.
func TestLaunchedOnlyStepsAreTagged(t *testing.T) {
	scenarios, err := featurefile.ReadDir("../features")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range scenarios {
		tagged := sc.HasTag("@launched-gateway")
		for _, step := range sc.Steps {
			if launchedOnly.MatchString(step) && !tagged {
				t.Errorf("%s:%d: scenario %q has the step %q, which needs a launched gateway, but no @launched-gateway tag",
					sc.File, sc.Line, sc.Name, step)
			}
		}
	}
	if len(scenarios) == 0 {
		t.Fatal("no scenario checked")
	}
}
