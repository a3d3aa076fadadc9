package steps

import (
	"fmt"
	"strings"
)

// targetKind is one word the Gherkin uses for what a signal is about, in one table: the label
// Alertmanager sends (the word itself), the kind the remediation request records, and whether
// the target is cluster-scoped (its signals go to the fallback namespace). Step patterns,
// payloads and assertions are all built from it, so adding a kind is one line here.
type targetKind struct {
	word          string
	kind          string
	clusterScoped bool
	events        bool // the cluster reports events about it (the suite sends events for these)
}

var targetTable = []targetKind{
	{word: "pod", kind: "Pod", events: true},
	{word: "deployment", kind: "Deployment"},
	{word: "statefulset", kind: "StatefulSet"},
	{word: "daemonset", kind: "DaemonSet"},
	{word: "service", kind: "Service"},
	{word: "node", kind: "Node", clusterScoped: true, events: true},
}

// lookupTarget finds a Gherkin word in the table.
func lookupTarget(word string) (targetKind, error) {
	for _, t := range targetTable {
		if t.word == word {
			return t, nil
		}
	}
	return targetKind{}, fmt.Errorf("unknown target kind %q: use one of %s", word, strings.Join(targetWords(func(targetKind) bool { return true }), ", "))
}

// clusterScoped reports whether signals about this word land in the fallback namespace.
func clusterScoped(word string) bool {
	t, err := lookupTarget(word)
	return err == nil && t.clusterScoped
}

func targetWords(keep func(targetKind) bool) []string {
	var out []string
	for _, t := range targetTable {
		if keep(t) {
			out = append(out, t.word)
		}
	}
	return out
}

// targetPattern is a step-pattern group for a target: `(pod|...|node) "([^"]+)"`, over every
// kind, or over the namespaced kinds only.
func targetPattern(namespacedOnly bool) string {
	words := targetWords(func(t targetKind) bool { return !namespacedOnly || !t.clusterScoped })
	return `(` + strings.Join(words, "|") + `) "([^"]+)"`
}
