package steps

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	gherkin "github.com/cucumber/gherkin/go/v42"
	messages "github.com/cucumber/messages/go/v34"
)

// launchedOnly are the steps that need a gateway the suite launched: the fault proxy on its path
// to the API, a gateway of the scenario's own, or a control plane of its own. Contract mode
// excludes their scenarios by the tag @launched-gateway, so a scenario with one of these steps
// and without the tag fails there (as the 409 scenario did, in make e2e-contract).
var launchedOnly = regexp.MustCompile(`^the Kubernetes API (will |fails every |answers this namespace's requests after|recovers)` +
	`|dedicated gateway|a control plane of its own|^the gateway is (killed|restarted|told to stop)`)

// TestLaunchedOnlyStepsAreTagged parses the features (Gherkin, not grep) and checks the tag.
func TestLaunchedOnlyStepsAreTagged(t *testing.T) {
	files, err := filepath.Glob("../features/*.feature")
	if err != nil || len(files) == 0 {
		t.Fatalf("no features: %v", err)
	}
	checked := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := gherkin.ParseGherkinDocument(bytes.NewReader(data), (&messages.Incrementing{}).NewId)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if doc.Feature == nil {
			continue
		}
		var visit func(inherited []*messages.Tag, background []*messages.Step, children []*messages.FeatureChild)
		visit = func(inherited []*messages.Tag, background []*messages.Step, children []*messages.FeatureChild) {
			for _, c := range children {
				switch {
				case c.Background != nil:
					background = append(background, c.Background.Steps...)
				case c.Rule != nil:
					var rc []*messages.FeatureChild
					for _, r := range c.Rule.Children {
						rc = append(rc, &messages.FeatureChild{Background: r.Background, Scenario: r.Scenario})
					}
					visit(append(slices.Clone(inherited), c.Rule.Tags...), slices.Clone(background), rc)
				case c.Scenario != nil:
					s := c.Scenario
					tags := append(slices.Clone(inherited), s.Tags...)
					tagged := slices.ContainsFunc(tags, func(tag *messages.Tag) bool { return tag.Name == "@launched-gateway" })
					for _, step := range append(slices.Clone(background), s.Steps...) {
						if launchedOnly.MatchString(step.Text) && !tagged {
							t.Errorf("%s:%d: scenario %q has the step %q, which needs a launched gateway, but no @launched-gateway tag",
								f, s.Location.Line, s.Name, step.Text)
						}
					}
					checked++
				}
			}
		}
		visit(doc.Feature.Tags, nil, doc.Feature.Children)
	}
	if checked == 0 {
		t.Fatal("no scenario checked")
	}
}
