package report

import (
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteMarkdown writes traceability.md, meant for pull requests and release
// notes. The output depends only on the report (sorted, no clock), so it can
// be compared against a golden file.
func (r *Report) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	r.mdHeader(ew)
	r.mdSummary(ew)
	r.mdQuarantined(ew)
	r.mdProblems(ew)
	r.mdFlaky(ew)
	r.mdRequirements(ew)
	r.mdMutation(ew)
	r.mdFeatures(ew)
	r.mdFailures(ew)
	if ew.err != nil {
		return fmt.Errorf("write traceability markdown: %w", ew.err)
	}
	return nil
}

func (r *Report) mdHeader(w *errWriter) {
	w.printf("# %s\n\n", mdText(r.Title))
	if r.Target != "" {
		w.printf("Ran against: %s  \n", mdText(r.Target))
	}
	if r.GeneratedAt != "" {
		w.printf("Generated: %s  \n", mdText(r.GeneratedAt))
	}
	w.printf("Catalog: `%s`  \n", r.Catalog)
	if r.Summary.Shards > 0 {
		w.printf("Shards of one run: %d", len(r.Sources))
	} else {
		w.printf("Runs: %d", len(r.Sources))
	}
	for i, s := range r.Sources {
		sep := ", "
		if i == 0 {
			sep = " ("
		}
		w.printf("%s`%s`", sep, s)
	}
	if len(r.Sources) > 0 {
		w.printf(")")
	}
	w.printf("\n\n")
	if len(r.Problems) == 0 {
		w.printf("**Traceability gate: passed.**\n\n")
	} else {
		w.printf("**Traceability gate: FAILED, %d problem(s)** (see [Traceability errors](#traceability-errors)).\n\n", len(r.Problems))
	}
}

func (r *Report) mdSummary(w *errWriter) {
	s := r.Summary
	req, sc := s.Requirements, s.Scenarios
	w.printf("## Summary\n\n| Measure | Value |\n|---|---|\n")
	w.printf("| Requirements proven | %d of %d (%.1f%%) |\n", req.Proven, req.Total, s.ProvenPercent)
	w.printf("| Requirements failing | %d |\n", req.Failing)
	w.printf("| Requirements quarantined | %d |\n", req.Quarantined)
	w.printf("| Requirements not covered | %d |\n", req.NotCovered)
	w.printf("| Coverage (requirements with a scenario) | %d of %d (%.1f%%) |\n", req.Total-req.NotCovered, req.Total, s.CoveredPercent)
	w.printf("| Scenarios | %d: %d passed, %d failed, %d other |\n", sc.Total, sc.Passed, sc.Failed, sc.Other)
	w.printf("| Flaky scenarios | %d |\n", sc.Flaky)
	w.printf("| Quarantined scenarios | %d |\n", sc.Quarantined)
	w.printf("| Total duration | %s over %d run(s) |\n", fmtDuration(s.Duration), s.Runs)
	if m := r.Mutation; m != nil {
		ms := m.Summary
		w.printf("| Mutants caught (kill rate) | %d of %d (%.1f%%); %d accepted as equivalent, %d invalid |\n",
			ms.Killed, ms.Killed+ms.Survived, ms.KillRate, ms.Equivalent, ms.Invalid)
		w.printf("| Requirements weakly proven (a mutant survived) | %d |\n", m.WeaklyProven)
		if m.Coverage != nil {
			w.printf("| Gateway statement coverage (whole suite) | %.1f%% |\n", m.Coverage.Percent)
		}
	}
	w.printf("\n")
	w.printf("### Coverage by area\n\n| Area | Requirements | Covered | Proven |\n|---|---:|---:|---:|\n")
	for _, a := range s.Areas {
		w.printf("| %s (`%s`) | %d | %d (%.1f%%) | %d (%.1f%%) |\n",
			mdText(a.Title), a.ID, a.Requirements, a.Covered, a.CoveredPercent, a.Proven, a.ProvenPercent)
	}
	w.printf("\n")
}

func (r *Report) mdQuarantined(w *errWriter) {
	w.printf("## Quarantined scenarios\n\n")
	if len(r.Quarantined) == 0 {
		w.printf("None.\n\n")
		return
	}
	w.printf("| Scenario | Latest result | Passed | Reason |\n|---|---|---|---|\n")
	for _, q := range r.Quarantined {
		w.printf("| `%s:%d` %s | %s | %s | %s |\n", q.URI, q.Line, mdText(q.Name),
			q.Result, fmtPassRate(q.Passed, q.Runs), mdText(reasonOrDefault(q.QuarantineReason)))
	}
	w.printf("\n")
}

func (r *Report) mdProblems(w *errWriter) {
	w.printf("## Traceability errors\n\n")
	if len(r.Problems) == 0 {
		w.printf("None.\n\n")
		return
	}
	for _, p := range r.Problems {
		w.printf("- `%s` (%s): %s\n", p.Subject, p.Kind, mdText(p.Message))
	}
	w.printf("\n")
}

func (r *Report) mdFlaky(w *errWriter) {
	w.printf("## Flaky scenarios\n\n")
	if len(r.Flaky) == 0 {
		w.printf("None.\n\n")
		return
	}
	w.printf("| Scenario | Latest result | Passed |\n|---|---|---|\n")
	for _, f := range r.Flaky {
		w.printf("| `%s:%d` %s | %s | %s |\n", f.URI, f.Line, mdText(f.Name), f.Result, fmtPassRate(f.Passed, f.Runs))
	}
	w.printf("\n")
}

func (r *Report) mdRequirements(w *errWriter) {
	if r.Mutation != nil {
		w.printf("## Requirements\n\n| Requirement | Area | Status | Mutants | Scenarios |\n|---|---|---|---|---|\n")
	} else {
		w.printf("## Requirements\n\n| Requirement | Area | Status | Scenarios |\n|---|---|---|---|\n")
	}
	for _, req := range r.Requirements {
		var cells []string
		for _, s := range req.Scenarios {
			cell := fmt.Sprintf("`%s:%d` %s: %s", s.URI, s.Line, mdText(s.Name), mdResult(s.Result))
			if m := scenarioMarks(s.Flaky, s.Quarantined); m != "" {
				cell += " (" + m + ")"
			}
			cells = append(cells, cell)
		}
		if len(cells) == 0 {
			cells = []string{"none"}
		}
		if r.Mutation != nil {
			w.printf("| **%s** %s | %s | %s | %s | %s |\n", req.ID, mdText(req.Title), req.Area,
				mdReqLabel(req), mdMutants(req.Mutation), strings.Join(cells, "<br>"))
			continue
		}
		w.printf("| **%s** %s | %s | %s | %s |\n", req.ID, mdText(req.Title), req.Area,
			reqLabel(req.Status), strings.Join(cells, "<br>"))
	}
	w.printf("\n")
}

func (r *Report) mdFeatures(w *errWriter) {
	w.printf("## Features\n\n")
	for _, f := range r.Features {
		w.printf("### %s\n\n`%s`\n\n", mdText(f.Name), f.URI)
		w.printf("| Line | Scenario | Requirements | Result | Passed | Duration |\n|---:|---|---|---|---|---:|\n")
		for _, s := range f.Scenarios {
			reqs := strings.Join(s.Requirements, ", ")
			if reqs == "" {
				reqs = "**none**"
			}
			res := mdResult(s.Result)
			if m := scenarioMarks(s.Flaky, s.Quarantined); m != "" {
				res += " (" + m + ")"
			}
			w.printf("| %d | %s | %s | %s | %s | %s |\n", s.Line, mdText(s.Name), reqs, res,
				fmtPassRate(s.Passed, s.Runs), fmtDuration(s.Duration))
		}
		w.printf("\n")
	}
}

// mdFailures shows why the latest run of each scenario did not pass; the
// attachments are listed, their content is in the HTML report.
func (r *Report) mdFailures(w *errWriter) {
	w.printf("## Failures\n\n")
	found := false
	for _, f := range r.Features {
		for _, s := range f.Scenarios {
			a := s.Latest()
			if a.Failure == nil {
				continue
			}
			found = true
			w.printf("### `%s:%d` %s", s.URI, s.Line, mdText(s.Name))
			if s.Quarantined {
				w.printf(" (quarantined: %s)", mdText(reasonOrDefault(s.QuarantineReason)))
			}
			w.printf("\n\n")
			w.printf("- Result: %s in `%s`\n", a.Result, a.Source)
			if a.Failure.Step != "" {
				w.printf("- Step: `%s` (line %d)\n", strings.TrimSpace(a.Failure.Step), a.Failure.Line)
			}
			for _, at := range a.Failure.Attachments {
				w.printf("- Attachment: %s (%s, %d bytes)\n", mdText(at.Name), at.MimeType, decodedLen(at.Data))
			}
			fence := codeFence(a.Failure.Message)
			w.printf("\n%stext\n%s\n%s\n\n", fence, strings.TrimRight(a.Failure.Message, "\n"), fence)
		}
	}
	if !found {
		w.printf("None.\n")
	}
}

// mdReqLabel is the verdict, "weakly proven" when a mutant that names the requirement survived.
func mdReqLabel(req RequirementResult) string {
	if req.Mutation != nil && req.Mutation.Weak {
		return "**" + weakLabel + "**"
	}
	return reqLabel(req.Status)
}

// mdMutants is a requirement's mutation cell: "2 of 3 caught; survived: `id`".
func mdMutants(rm *RequirementMutation) string {
	s := mutationLabel(rm)
	if rm == nil || len(rm.Survivors) == 0 {
		return s
	}
	var ids []string
	for _, m := range rm.Survivors {
		ids = append(ids, "`"+m.ID+"`")
	}
	return s + "; survived: " + strings.Join(ids, ", ")
}

// mdMutation is the mutation testing section: the survivors with what they change, the mutants
// the run refused, and the gateway's least covered functions.
func (r *Report) mdMutation(w *errWriter) {
	m := r.Mutation
	if m == nil {
		return
	}
	w.printf("## Mutation testing\n\n")
	w.printf("From `%s`", m.Source)
	if m.GeneratedAt != "" {
		w.printf(", measured %s", mdText(m.GeneratedAt))
	}
	if m.Partial {
		w.printf(" (a partial run: only some mutants)")
	}
	ms := m.Summary
	w.printf(". %d mutants of the gateway: %d killed, %d survived, %d accepted as equivalent, %d invalid; kill rate %.1f%%.\n\n",
		ms.Mutants, ms.Killed, ms.Survived, ms.Equivalent, ms.Invalid, ms.KillRate)
	w.printf("### Surviving mutants\n\n")
	if len(m.Survivors) == 0 {
		w.printf("None.\n\n")
	} else {
		w.printf("| Mutant | What it changes | Requirements |\n|---|---|---|\n")
		for _, s := range m.Survivors {
			var reqs []string
			for _, req := range r.Requirements {
				if req.Mutation != nil && slices.ContainsFunc(req.Mutation.Survivors, func(x MutantRef) bool { return x.ID == s.ID }) {
					reqs = append(reqs, req.ID)
				}
			}
			w.printf("| `%s` | %s | %s |\n", s.ID, mdText(s.Description), strings.Join(reqs, ", "))
		}
		w.printf("\n")
	}
	if len(m.Invalid) > 0 {
		w.printf("### Mutants the run refused\n\n| Mutant | Status | Why |\n|---|---|---|\n")
		for _, s := range m.Invalid {
			w.printf("| `%s` | %s | %s |\n", s.ID, s.Status, mdText(s.Detail))
		}
		w.printf("\n")
	}
	if c := m.Coverage; c != nil {
		w.printf("### Gateway coverage\n\nThe whole suite executes %.1f%% of the gateway's statements.\n\n", c.Percent)
		if len(c.LeastCovered) > 0 {
			w.printf("| Least covered function | Where | Statements never run | Covered |\n|---|---|---:|---:|\n")
			for _, f := range c.LeastCovered {
				w.printf("| `%s` | `%s:%d` | %d of %d | %.1f%% |\n", f.Function, f.File, f.Line, f.Uncovered, f.Statements, f.Percent)
			}
			w.printf("\n")
		}
	}
}

// mdResult highlights results that are not a pass.
func mdResult(s Status) string {
	if s == StatusPassed {
		return string(s)
	}
	return "**" + string(s) + "**"
}

// mdText makes free text safe inside a table cell or heading.
func mdText(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

// codeFence returns a backtick fence longer than any backtick run in s.
func codeFence(s string) string {
	longest, run := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

// decodedLen is the size of base64 data once decoded.
func decodedLen(data string) int {
	return base64.StdEncoding.DecodedLen(len(data)) - strings.Count(data[max(0, len(data)-2):], "=")
}
