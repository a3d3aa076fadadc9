package repo

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPackageMap enforces the package map of docs/design.md: every package of the module has a
// row, imports (tests included) only the project packages its row allows, and nothing of the
// suite reaches gateway/internal, even through a dependency. It replaces a grep that saw only
// direct imports in non-test files.
func TestPackageMap(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	rows := readPackageMap(t, filepath.Join(root, "docs", "design.md"))
	cmd := exec.Command("go", "list", "-deps=false", "-json", "./...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			ImportPath                         string
			Imports, TestImports, XTestImports []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, ModulePath+"/")
		row, ok := rowFor(rows, rel)
		if !ok {
			t.Errorf("%s has no row in the package map of docs/design.md", rel)
			continue
		}
		for _, imp := range append(append(p.Imports, p.TestImports...), p.XTestImports...) {
			dep, project := strings.CutPrefix(imp, ModulePath+"/")
			if !project || dep == rel {
				continue
			}
			if !allowed(row.mayImport, dep) {
				t.Errorf("%s imports %s, which its row (%s) does not allow: change the code or docs/design.md", rel, dep, row.pattern)
			}
		}
	}
	// The black-box rule, through every dependency of the suite.
	cmd = exec.Command("go", "list", "-deps", "-test", "-f", "{{.ImportPath}}", "./steps/...", "./support/...", "./e2e/...")
	cmd.Dir = root
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), ModulePath+"/gateway/internal") {
			t.Errorf("the suite depends on %s: steps/, support/ and e2e/ are black-box and must not reach gateway/internal", sc.Text())
		}
	}
}

type mapRow struct {
	pattern   string
	mayImport []string // patterns; "..." suffix is a subtree
}

var mapLine = regexp.MustCompile("^\\| `([^`]+)` \\|[^|]*\\|(.*)\\|\\s*$")

func readPackageMap(t *testing.T, path string) []mapRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	section := false
	var rows []mapRow
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "## ") {
			section = strings.HasPrefix(line, "## Package map")
			continue
		}
		m := mapLine.FindStringSubmatch(line)
		if !section || m == nil {
			continue
		}
		row := mapRow{pattern: m[1]}
		for _, q := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(m[2], -1) {
			row.mayImport = append(row.mayImport, q[1])
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		t.Fatalf("no package map table in %s", path)
	}
	return rows
}

// rowFor picks the row of a package: an exact row, else the longest subtree row that holds it.
func rowFor(rows []mapRow, pkg string) (mapRow, bool) {
	var best mapRow
	found := false
	for _, r := range rows {
		if r.pattern == pkg {
			return r, true
		}
		if matches(r.pattern, pkg) && (!found || len(r.pattern) > len(best.pattern)) {
			best, found = r, true
		}
	}
	return best, found
}

func allowed(patterns []string, pkg string) bool {
	for _, p := range patterns {
		if matches(p, pkg) {
			return true
		}
	}
	return false
}

func matches(pattern, pkg string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
	}
	return pattern == pkg
}
