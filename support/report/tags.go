package report

import (
	"slices"
	"strings"
)

// quarantineTag marks a scenario whose failure is known and accepted for now.
const quarantineTag = "@quarantine"

// quarantineMarker is the description line prefix that carries the reason.
const quarantineMarker = "Quarantined:"

// tagInfo is what the report reads out of a scenario's tags.
type tagInfo struct {
	// reqIDs are well-formed requirement ids (present in the catalog or not).
	reqIDs []string
	// malformed are @BR- tags that do not spell a requirement id exactly.
	malformed []string
	// quarantined is set by @quarantine or @quarantine(<label>).
	quarantined bool
	// labels are the <label> parts of @quarantine(<label>) tags.
	labels []string
}

// readTags classifies tags. Any tag starting with "@BR-" (in any case) is
// meant as a requirement tag, so a near miss is reported rather than ignored.
func readTags(tags []string) tagInfo {
	var ti tagInfo
	for _, t := range tags {
		switch {
		case strings.HasPrefix(strings.ToUpper(t), "@BR-"):
			if id := t[1:]; requirementID.MatchString(id) {
				ti.reqIDs = append(ti.reqIDs, id)
			} else {
				ti.malformed = append(ti.malformed, t)
			}
		case t == quarantineTag:
			ti.quarantined = true
		case strings.HasPrefix(t, quarantineTag+"(") && strings.HasSuffix(t, ")"):
			ti.quarantined = true
			if label := t[len(quarantineTag)+1 : len(t)-1]; label != "" {
				ti.labels = append(ti.labels, label)
			}
		}
	}
	return ti
}

// quarantineReason builds the reason shown beside a quarantined scenario:
// the text after "Quarantined:" in the scenario's description (else the
// feature's), followed by the labels of @quarantine(<label>) tags.
func quarantineReason(scenarioDesc, featureDesc string, labels []string) string {
	text := markerLine(scenarioDesc)
	if text == "" {
		text = markerLine(featureDesc)
	}
	if len(labels) == 0 {
		return text
	}
	t := strings.Join(labels, ", ")
	if text == "" {
		return t
	}
	return text + " (" + t + ")"
}

// markerLine returns the text after the first "Quarantined:" line of a
// gherkin description, trimmed.
func markerLine(desc string) string {
	for line := range strings.Lines(desc) {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, quarantineMarker); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// uniqueTags returns the tag names sorted and without duplicates (godog
// repeats feature tags on every scenario).
func uniqueTags(tags []Tag) []string {
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		out = append(out, t.Name)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
