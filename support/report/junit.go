package report

import (
	"encoding/xml"
	"fmt"
	"os"
	"strconv"
)

// junitSuites mirrors godog v0.16's JUnit document (internal/formatters/fmt_junit.go); test
// cases are kept as they were written.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Attrs []xml.Attr `xml:",any,attr"`
	Inner []byte     `xml:",innerxml"`
}

// JoinJUnitSuites rewrites a JUnit file of a run that selected scenarios by `path:line` (a
// shard), where godog writes a test suite per selected line, into one suite per feature, as a
// whole run writes it; counts and times are summed.
func JoinJUnitSuites(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("reading godog's JUnit results: %w", err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s is not godog's JUnit XML: %w", file, err)
	}
	var joined []junitSuite
	byName := map[string]int{}
	for _, s := range doc.Suites {
		i, ok := byName[s.Name]
		if !ok {
			byName[s.Name] = len(joined)
			joined = append(joined, s)
			continue
		}
		j := &joined[i]
		j.Tests, j.Skipped, j.Failures, j.Errors = j.Tests+s.Tests, j.Skipped+s.Skipped, j.Failures+s.Failures, j.Errors+s.Errors
		j.Time = addSeconds(j.Time, s.Time)
		j.Cases = append(j.Cases, s.Cases...)
	}
	doc.Suites = joined
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if err := os.WriteFile(file, append([]byte(xml.Header), append(out, '\n')...), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}

// addSeconds adds two JUnit times (seconds, as decimal text); an unreadable one counts as zero.
func addSeconds(a, b string) string {
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	return strconv.FormatFloat(x+y, 'f', -1, 64)
}
