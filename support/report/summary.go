package report

import (
	"cmp"
	"math"
	"slices"
)

// summarize fills Summary, Quarantined and Flaky from the judged parts.
func (r *Report) summarize() {
	sum := &r.Summary
	sum.Runs = len(r.Sources)
	areas := map[string]*AreaSummary{}
	for _, req := range r.Requirements {
		a := areas[req.Area]
		if a == nil {
			a = &AreaSummary{ID: req.Area, Title: req.AreaTitle}
			areas[req.Area] = a
		}
		a.Requirements++
		sum.Requirements.Total++
		switch req.Status {
		case ReqProven:
			sum.Requirements.Proven++
			a.Proven++
		case ReqFailing:
			sum.Requirements.Failing++
		case ReqQuarantined:
			sum.Requirements.Quarantined++
		case ReqNotCovered:
			sum.Requirements.NotCovered++
		}
		if req.Status != ReqNotCovered {
			a.Covered++
		}
	}
	covered := sum.Requirements.Total - sum.Requirements.NotCovered
	sum.CoveredPercent = percent(covered, sum.Requirements.Total)
	sum.ProvenPercent = percent(sum.Requirements.Proven, sum.Requirements.Total)
	sum.Areas = []AreaSummary{}
	for _, a := range areas {
		a.CoveredPercent = percent(a.Covered, a.Requirements)
		a.ProvenPercent = percent(a.Proven, a.Requirements)
		sum.Areas = append(sum.Areas, *a)
	}
	slices.SortFunc(sum.Areas, func(a, b AreaSummary) int { return cmp.Compare(a.ID, b.ID) })
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			c := &sum.Scenarios
			c.Total++
			switch s.Result {
			case StatusPassed:
				c.Passed++
			case StatusFailed:
				c.Failed++
			default:
				c.Other++
			}
			if s.Flaky {
				c.Flaky++
				r.Flaky = append(r.Flaky, s.Ref())
			}
			if s.Quarantined {
				c.Quarantined++
				r.Quarantined = append(r.Quarantined, s.Ref())
			}
		}
	}
}

// percent is part/whole in percent, rounded to one decimal; 0 when whole is 0.
func percent(part, whole int) float64 {
	if whole == 0 {
		return 0
	}
	return round(100*float64(part)/float64(whole), 1)
}

func round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}
