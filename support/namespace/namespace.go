// Package namespace is the one place that names, labels, creates and removes the namespaces the
// contract suite's scenarios run in.
//
// Scenarios are isolated from each other only by their namespace: fault rules, RemediationRequests
// and assertions are all scoped by it. So a name must never be shared by two scenarios, whether
// they run in one process, in parallel processes or in repeated runs against the same cluster, and
// every leftover of a crashed run must be findable by label and removable without touching anything
// the suite did not create.
package namespace

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kubernaut/gateway-contract/support/runid"
)

// Label and annotation keys the suite puts on its namespaces. They are exported so that the
// cleanup command and failure reports select namespaces by the same keys the generator writes.
const (
	LabelRunID     = "e2e.kubernaut.ai/run-id"
	LabelFeature   = "e2e.kubernaut.ai/feature"
	LabelScenario  = "e2e.kubernaut.ai/scenario"
	LabelCreatedAt = "e2e.kubernaut.ai/created-at"
	// LabelManagedBy with the value ManagedBy marks a namespace as the suite's own: Sweep never
	// deletes a namespace without it.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "gateway-contract-suite"

	// The annotations keep the full, unsanitised names that the labels may have had to shorten.
	AnnotationFeature  = "e2e.kubernaut.ai/feature"
	AnnotationScenario = "e2e.kubernaut.ai/scenario"
)

// Name prefixes. MissingPrefix is reserved for names that must not exist, so Name never produces
// it and Create refuses it.
const (
	NamePrefix    = "e2e-"
	MissingPrefix = "e2e-absent-"
)

const (
	maxLabel      = 63 // DNS-1123 label and label value limit
	maxRunID      = 16
	fallbackSlug  = "scenario"
	reservedSlug  = "absent"
	reservedGuard = "sc-"
)

// Generator hands out namespace names for one run of the suite. It is safe for concurrent use:
// godog runs scenarios in parallel goroutines that all ask the same generator.
type Generator struct {
	runID   string
	counter atomic.Uint64
	now     func() time.Time
}

// New returns a generator for the run id. The id is reduced to lowercase letters and digits (at
// most 16) so that it can go into names and label values unchanged; an id left empty by that is
// replaced by runid.New(), because a generator without a run id could repeat an earlier run's names.
func New(runID string) *Generator {
	id := sanitizeRunID(runID)
	if id == "" {
		id = runid.New()
	}
	return &Generator{runID: id, now: time.Now}
}

// RunID is the run id the generator actually uses, after sanitising.
func (g *Generator) RunID() string { return g.runID }

// Name returns a new namespace name for a scenario: e2e-<slug of scenario>-<run id>-<counter>.
// It is a valid DNS-1123 label of at most 63 characters, and no two calls on generators with
// different run ids, or on one generator, return the same name. The feature is not part of the
// name (it would crowd out the scenario); it goes into Labels.
func (g *Generator) Name(scenario string) string {
	suffix := "-" + g.runID + "-" + strconv.FormatUint(g.counter.Add(1), 36)
	budget := maxLabel - len(NamePrefix) - len(suffix)
	s := slug(scenario, budget)
	if s == reservedSlug || strings.HasPrefix(s, reservedSlug+"-") {
		// Keep clear of MissingPrefix so that Missing can never name a real namespace.
		s = slug(reservedGuard+s, budget)
	}
	return NamePrefix + s + suffix
}

// Missing returns a name that is guaranteed not to exist, for scenarios about a signal whose
// namespace is absent: it starts with MissingPrefix, which Name never produces and Create refuses,
// and it carries the run id and a counter so it is also unique.
func (g *Generator) Missing(scenario string) string {
	suffix := "-" + g.runID + "-" + strconv.FormatUint(g.counter.Add(1), 36)
	budget := maxLabel - len(MissingPrefix) - len(suffix)
	return MissingPrefix + slug(scenario, budget) + suffix
}

// Labels returns the labels for a scenario's namespace: the run id, the sanitised feature and
// scenario names, the creation time in unix seconds (for Sweep on clusters whose clock differs)
// and the managed-by marker without which Sweep never deletes anything.
func (g *Generator) Labels(feature, scenario string) map[string]string {
	return map[string]string{
		LabelRunID:     g.runID,
		LabelFeature:   LabelValue(feature),
		LabelScenario:  LabelValue(scenario),
		LabelCreatedAt: strconv.FormatInt(g.now().Unix(), 10),
		LabelManagedBy: ManagedBy,
	}
}

// Annotations returns the full feature and scenario names, which label values cannot hold, so a
// person looking at a leftover namespace can tell exactly which scenario made it.
func (g *Generator) Annotations(feature, scenario string) map[string]string {
	return map[string]string{
		AnnotationFeature:  feature,
		AnnotationScenario: scenario,
	}
}

func sanitizeRunID(id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			if b.Len() == maxRunID {
				break
			}
		}
	}
	return b.String()
}
