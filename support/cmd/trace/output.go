package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubernaut/gateway-contract/support/report"
)

// writeReports renders all three files before writing any, so a rendering
// error cannot leave a mix of old and new reports behind.
func writeReports(r *report.Report, dir string) error {
	outputs := []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{mdName, func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{htmlName, func(b *bytes.Buffer) error { return r.WriteHTML(b) }},
		{jsonName, func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
	}
	bufs := make([]bytes.Buffer, len(outputs))
	for i, o := range outputs {
		if err := o.write(&bufs[i]); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for i, o := range outputs {
		if err := os.WriteFile(filepath.Join(dir, o.name), bufs[i].Bytes(), 0o644); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}

// summary is the one paragraph printed for the CI log.
func summary(r *report.Report, o options, gateErr error) string {
	s := r.Summary
	req, sc := s.Requirements, s.Scenarios
	var b strings.Builder
	fmt.Fprintf(&b, "Traceability: %d of %d requirements proven (%.1f%%), %d failing, %d quarantined, %d not covered; coverage %.1f%%. ",
		req.Proven, req.Total, s.ProvenPercent, req.Failing, req.Quarantined, req.NotCovered, s.CoveredPercent)
	fmt.Fprintf(&b, "Scenarios: %d (%d passed, %d failed, %d other), %d flaky, %d quarantined, over %d run(s) taking %s. ",
		sc.Total, sc.Passed, sc.Failed, sc.Other, sc.Flaky, sc.Quarantined, s.Runs, s.Duration.Round(10*time.Millisecond))
	switch {
	case gateErr == nil:
		b.WriteString("Gate: passed. ")
	case o.gate:
		fmt.Fprintf(&b, "Gate: FAILED with %d problem(s), listed on stderr. ", len(r.Problems))
	default:
		fmt.Fprintf(&b, "Gate: off (--gate=false); %d problem(s) listed below. ", len(r.Problems))
	}
	fmt.Fprintf(&b, "Reports: %s, %s, %s.", filepath.Join(o.out, htmlName), filepath.Join(o.out, mdName), filepath.Join(o.out, jsonName))
	return b.String()
}
