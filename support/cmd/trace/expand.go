package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// expand turns arguments into files: glob patterns are expanded in natural
// order, a pattern matching nothing is an error (a CI step that produced no
// report must not look like an empty suite), a file named twice is read
// once, and the report's own JSON output is never read back as input.
func expand(patterns []string, ownOutput string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	own, _ := filepath.Abs(ownOutput)
	for _, p := range patterns {
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, fmt.Errorf("bad pattern %q: %w", p, err)
			}
			m = slices.DeleteFunc(m, func(f string) bool { abs, _ := filepath.Abs(f); return abs == own })
			if len(m) == 0 {
				return nil, fmt.Errorf("no file matches %q", p)
			}
			slices.SortFunc(m, naturalCompare)
			matches = m
		} else if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("cucumber report: %w", err)
		}
		for _, f := range matches {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	return files, nil
}

// naturalCompare orders strings with digit runs compared by value, so that
// run-2 sorts before run-10.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
