package repo

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// processWords are phrases about how work on the project was organised, not about the project:
// a reader of the code, the features or the docs cannot see that process, so the project must
// not speak of it. Each pattern is narrow enough that the project's own vocabulary (an HTTP
// round trip, the rounds of the gateway's lookup loop, a TCP session, a stopped gateway) passes.
var processWords = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bstop \d+\b`),
	regexp.MustCompile(`(?i)\bstop-\d+\b`),
	regexp.MustCompile(`(?i)\bissues? #?\d+\b`),
	regexp.MustCompile(`(?i)\bissue-\d+\b`),
	regexp.MustCompile(`(?i)\bround \d+\b`),
	regexp.MustCompile(`(?i)\b(this|the second|the third|the previous|an earlier|the last) round\b`),
	regexp.MustCompile(`(?i)\bround of (work|review|changes)\b`),
	regexp.MustCompile(`(?i)\b(issue|ticket|bug|pr|fix(es|ed)?|close[sd]?|resolve[sd]?|see)\s*#\d+\b`),
	regexp.MustCompile(`\(#\d+\)`),
	regexp.MustCompile(`(?i)@quarantine-\d+\b`),
	// "session" in the sense of a sitting of work; a protocol's session is named as such.
	regexp.MustCompile(`(?i)(^|[^\w-])sessions?\b`),
}

// sessionOfAProtocol is the one legitimate use of "session": a protocol's or a user's.
var sessionOfAProtocol = regexp.MustCompile(`(?i)\b(tcp|tls|http|https|ssh|grpc|websocket|login|user|browser|terminal|database) sessions?\b`)

// processWord returns the process phrase in line, or "" when it has none.
func processWord(line string) string {
	for _, re := range processWords {
		for _, loc := range re.FindAllStringIndex(line, -1) {
			word := strings.TrimLeft(line[loc[0]:loc[1]], " \t[{\"'`")
			if strings.HasSuffix(strings.ToLower(word), "session") || strings.HasSuffix(strings.ToLower(word), "sessions") {
				if protocolSession(line, loc[1]) {
					continue
				}
			}
			return word
		}
	}
	return ""
}

// protocolSession reports whether the "session" ending at end is named by its protocol.
func protocolSession(line string, end int) bool {
	for _, loc := range sessionOfAProtocol.FindAllStringIndex(line, -1) {
		if loc[1] == end {
			return true
		}
	}
	return false
}

// wordsExempt are the files that must name the words to look for them: the patterns above. Its
// test table puts the phrases it must catch together at run time, so the file holds none.
var wordsExempt = map[string]bool{
	"support/repo/words_test.go": true,
}

// TestProjectSpeaksOfItself fails on a tracked file that speaks of the work on the project
// (checkpoints, tracker numbers, rounds of work) instead of the project; `make verify` runs it.
func TestProjectSpeaksOfItself(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("git ls-files in %s: %v: not a git checkout, so there are no tracked files to check", root, err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if name == "" || wordsExempt[name] || strings.HasSuffix(name, "go.sum") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the working tree, not yet in the index
			}
			t.Fatal(err)
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue // binary
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
		for n := 1; sc.Scan(); n++ {
			if word := processWord(sc.Text()); word != "" {
				t.Errorf("%s:%d: %q speaks of the work, not of the project: say what is, or leave it to git history", name, n, word)
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

// TestProcessWord proves the matcher both ways. The phrases it must catch are put together when
// the test runs (a word of the work, a number), so that this file passes the check it tests.
func TestProcessWord(t *testing.T) {
	phrase := func(format string, parts ...any) string { return fmt.Sprintf(format, parts...) }
	const stop, issue, round = "stop", "issue", "round"
	sitting := "session"
	caught := []struct{ line, want string }{
		{phrase("measured at %s %d on the 2-core machine", stop, 8), phrase("%s %d", stop, 8)},
		{phrase("the %s-%d series passed", stop, 12), phrase("%s-%d", stop, 12)},
		{phrase("%s %d's loaded series", strings.ToUpper(stop[:1])+stop[1:], 11), phrase("%s %d", strings.ToUpper(stop[:1])+stop[1:], 11)},
		{phrase("the machine of %s %d", issue, 11), phrase("%s %d", issue, 11)},
		{phrase("see %s #%d", issue, 42), phrase("%s #%d", issue, 42)},
		{phrase("Quarantined as %s-%d until", strings.ToUpper(issue), 10), phrase("%s-%d", strings.ToUpper(issue), 10)},
		{phrase("mended in %s %d", round, 3), phrase("%s %d", round, 3)},
		{phrase("## Decisions of the second %s", round), phrase("the second %s", round)},
		{phrase("done in this %s", round), phrase("this %s", round)},
		{phrase("fixes #%d", 123), phrase("fixes #%d", 123)},
		{phrase("a retry budget (#%d)", 77), phrase("(#%d)", 77)},
		{phrase("@quarantine-%d", 123), phrase("@quarantine-%d", 123)},
		{phrase("measured in the last %s", sitting), sitting},
		{phrase("%ss of work", "S"+sitting[1:]), "S" + sitting[1:] + "s"},
	}
	passed := []string{
		"an HTTP round trip to the API server",
		"a round-trip of the proxy",
		"func (t *transport) RoundTrip(r *http.Request)",
		"each round means another writer made progress",
		"a new round from step 1, with a LIST",
		"the TLS session is resumed",
		"a TCP session of the proxy",
		"the gateway stops 3 s after SIGTERM",
		"stopped 3 gateways",
		"the stop of the gateway",
		"color: #333",
		"@quarantine(slow-fallback-namespace)",
		"@BR-GATEWAY-018",
		"math.Round(x)",
	}
	for _, tc := range caught {
		if got := processWord(tc.line); got != tc.want {
			t.Errorf("processWord(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
	for _, line := range passed {
		if got := processWord(line); got != "" {
			t.Errorf("processWord(%q) = %q, want nothing: the project's own vocabulary", line, got)
		}
	}
}
