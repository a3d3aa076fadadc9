package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// DefaultTitle heads a report whose Title was not set.
const DefaultTitle = "Gateway contract: requirement traceability"

// scenarioKey is a scenario's identity across merged runs.
type scenarioKey struct {
	uri, name string
	line      int
}

// scenarioAcc collects one scenario's attempts; the metadata (tags,
// descriptions) of the latest run wins.
type scenarioAcc struct {
	key         scenarioKey
	feature     string
	featureDesc string
	desc        string
	tags        []string
	history     []Attempt
}

// Build merges the runs (oldest first) and judges every catalog requirement.
// It fails only on unusable input (an invalid catalog); traceability
// problems are recorded in Report.Problems and enforced by Gate.
func Build(cat Catalog, runs ...Run) (*Report, error) {
	if err := cat.validate(); err != nil {
		return nil, fmt.Errorf("%s: invalid requirement catalog: %w", cat.Path, err)
	}
	accs, order, err := collect(runs)
	if err != nil {
		return nil, err
	}
	r := &Report{
		SchemaVersion: SchemaVersion,
		Title:         DefaultTitle,
		Catalog:       cat.Path,
		Sources:       []string{},
		Quarantined:   []ScenarioRef{},
		Flaky:         []ScenarioRef{},
		Problems:      []Problem{},
		Requirements:  []RequirementResult{},
		Features:      []FeatureResult{},
	}
	for _, run := range runs {
		r.Sources = append(r.Sources, run.Source)
	}
	known := map[string]bool{}
	for _, req := range cat.Requirements {
		known[req.ID] = true
	}
	byReq := map[string][]ScenarioRef{}
	features := map[string]*FeatureResult{}
	for _, k := range order {
		s, problems := judgeScenario(accs[k], known)
		r.Problems = append(r.Problems, problems...)
		for _, id := range s.Requirements {
			byReq[id] = append(byReq[id], s.Ref())
		}
		fr := features[s.URI]
		if fr == nil {
			fr = &FeatureResult{URI: s.URI, Name: s.Feature}
			features[s.URI] = fr
		}
		fr.Name = s.Feature
		fr.Scenarios = append(fr.Scenarios, s)
		r.Summary.Duration += sumDurations(s.History)
	}
	for _, fr := range features {
		slices.SortFunc(fr.Scenarios, func(a, b ScenarioResult) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
		})
		r.Features = append(r.Features, *fr)
	}
	slices.SortFunc(r.Features, func(a, b FeatureResult) int { return cmp.Compare(a.URI, b.URI) })
	for _, req := range cat.Requirements {
		rr := RequirementResult{
			ID: req.ID, Title: req.Title, Statement: req.Statement,
			Area: req.Area, AreaTitle: cat.areaTitle(req.Area),
			Scenarios: sortRefs(byReq[req.ID]),
		}
		rr.Status = verdict(rr.Scenarios)
		if rr.Status == ReqNotCovered {
			r.Problems = append(r.Problems, Problem{
				Kind: ProblemNotCovered, Subject: req.ID,
				Message: fmt.Sprintf("requirement %q has no scenario", req.Title),
			})
		}
		r.Requirements = append(r.Requirements, rr)
	}
	slices.SortFunc(r.Requirements, func(a, b RequirementResult) int { return cmp.Compare(a.ID, b.ID) })
	// Problems arrive in scenario order (uri, line) and then catalog order;
	// a stable sort by kind keeps that order inside each kind.
	slices.SortStableFunc(r.Problems, func(a, b Problem) int { return cmp.Compare(a.Kind, b.Kind) })
	r.summarize()
	return r, nil
}

// collect groups the elements of all runs by scenario identity, keeping the
// order of first appearance for determinism.
func collect(runs []Run) (map[scenarioKey]*scenarioAcc, []scenarioKey, error) {
	accs := map[scenarioKey]*scenarioAcc{}
	var order []scenarioKey
	for _, run := range runs {
		for _, f := range run.Features {
			for _, e := range f.Elements {
				if e.Type != "" && e.Type != "scenario" {
					continue // backgrounds of other cucumber implementations
				}
				att, err := attempt(run.Source, e)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: %s:%d %q: %w", run.Source, f.URI, e.Line, e.Name, err)
				}
				k := scenarioKey{uri: f.URI, name: e.Name, line: e.Line}
				acc := accs[k]
				if acc == nil {
					acc = &scenarioAcc{key: k}
					accs[k] = acc
					order = append(order, k)
				}
				acc.feature, acc.featureDesc, acc.desc = f.Name, f.Description, e.Description
				acc.tags = uniqueTags(append(slices.Clone(f.Tags), e.Tags...))
				acc.history = append(acc.history, att)
			}
		}
	}
	slices.SortFunc(order, func(a, b scenarioKey) int {
		return cmp.Or(cmp.Compare(a.uri, b.uri), cmp.Compare(a.line, b.line), cmp.Compare(a.name, b.name))
	})
	return accs, order, nil
}

// attempt reduces one element to its result: the worst step status, with
// the first step of that status as the failure. A scenario without steps
// proves nothing and counts as undefined.
func attempt(source string, e Element) (Attempt, error) {
	a := Attempt{Source: source, Result: StatusPassed}
	if len(e.Steps) == 0 {
		a.Result = StatusUndefined
		a.Failure = &Failure{Message: "scenario has no steps"}
		return a, nil
	}
	var worst *Step
	var attachments []Attachment
	for i := range e.Steps {
		st := &e.Steps[i]
		status, err := parseStepStatus(st.Result.Status)
		if err != nil {
			return Attempt{}, fmt.Errorf("step at line %d: %w", st.Line, err)
		}
		if st.Result.Duration != nil {
			a.Duration += time.Duration(*st.Result.Duration)
		}
		if status.worse(a.Result) {
			a.Result, worst = status, st
		}
		for _, em := range st.Embeddings {
			attachments = append(attachments, Attachment{Name: em.Name, MimeType: em.MimeType, Data: em.Data})
		}
	}
	if worst != nil {
		msg := worst.Result.ErrorMessage
		if msg == "" {
			msg = fmt.Sprintf("step is %s", a.Result)
		}
		a.Failure = &Failure{
			Step: worst.Keyword + worst.Name, Line: worst.Line,
			Message: msg, Attachments: attachments,
		}
	}
	return a, nil
}

// judgeScenario turns an accumulator into a ScenarioResult and reports its
// traceability problems.
func judgeScenario(acc *scenarioAcc, known map[string]bool) (ScenarioResult, []Problem) {
	k := acc.key
	s := ScenarioResult{
		URI: k.uri, Feature: acc.feature, Name: k.name, Line: k.line,
		Tags: acc.tags, Requirements: []string{}, History: acc.history,
		Runs: len(acc.history),
	}
	latest := s.Latest()
	s.Result, s.Duration = latest.Result, latest.Duration
	for _, a := range acc.history {
		switch a.Result {
		case StatusPassed:
			s.Passed++
		case StatusFailed:
			s.Failed++
		}
	}
	s.PassRate = round(float64(s.Passed)/float64(s.Runs), 4)
	s.Flaky = s.Passed > 0 && s.Failed > 0

	ti := readTags(acc.tags)
	s.Quarantined = ti.quarantined
	if s.Quarantined {
		s.QuarantineReason = quarantineReason(acc.desc, acc.featureDesc, ti.labels)
	}
	subject := fmt.Sprintf("%s:%d", k.uri, k.line)
	var problems []Problem
	for _, t := range ti.malformed {
		problems = append(problems, Problem{Kind: ProblemUnknownTag, Subject: subject,
			Message: fmt.Sprintf("scenario %q: tag %s is not a requirement id (want @BR-GATEWAY-NNN)", k.name, t)})
	}
	for _, id := range ti.reqIDs {
		if !known[id] {
			problems = append(problems, Problem{Kind: ProblemUnknownTag, Subject: subject,
				Message: fmt.Sprintf("scenario %q: tag @%s names no requirement in the catalog", k.name, id)})
			continue
		}
		s.Requirements = append(s.Requirements, id)
	}
	if len(ti.reqIDs) == 0 && len(ti.malformed) == 0 {
		problems = append(problems, Problem{Kind: ProblemUntagged, Subject: subject,
			Message: fmt.Sprintf("scenario %q has no requirement tag", k.name)})
	}
	return s, problems
}

// verdict applies the requirement rules of the package documentation.
func verdict(scenarios []ScenarioRef) ReqStatus {
	if len(scenarios) == 0 {
		return ReqNotCovered
	}
	status := ReqProven
	for _, s := range scenarios {
		if s.Result == StatusPassed {
			continue
		}
		if !s.Quarantined {
			return ReqFailing
		}
		status = ReqQuarantined
	}
	return status
}

// sortRefs orders scenario references by uri, line and name.
func sortRefs(refs []ScenarioRef) []ScenarioRef {
	if refs == nil {
		return []ScenarioRef{}
	}
	slices.SortFunc(refs, func(a, b ScenarioRef) int {
		return cmp.Or(cmp.Compare(a.URI, b.URI), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Name, b.Name))
	})
	return refs
}

func sumDurations(h []Attempt) time.Duration {
	var d time.Duration
	for _, a := range h {
		d += a.Duration
	}
	return d
}
