package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/report"
)

// coverPackages are the packages whose statements the coverage figure counts: the gateway's.
const coverPackages = repo.ModulePath + "/gateway/..."

// leastCovered is how many functions the report lists as the least covered.
const leastCovered = 12

// coverage reads the counters that the coverage-instrumented gateways of the baseline run left
// in covDir (GOCOVERDIR) with go tool covdata and go tool cover, in the tree the binary was
// built from, and keeps a copy of the profile and the per-function table in outDir.
func coverage(ctx context.Context, t *tree, covDir, outDir string) (*report.Coverage, error) {
	entries, err := os.ReadDir(covDir)
	if err != nil || len(entries) == 0 {
		return nil, fmt.Errorf("no coverage data in %s: did the instrumented gateways exit normally?", covDir)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	profile := filepath.Join(outDir, "coverage.txt")
	if _, err := goTool(ctx, t.dir, "covdata", "textfmt", "-i", covDir, "-o", profile); err != nil {
		return nil, err
	}
	pkgs, err := goTool(ctx, t.dir, "covdata", "percent", "-i", covDir)
	if err != nil {
		return nil, err
	}
	funcs, err := goTool(ctx, t.dir, "cover", "-func", profile)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(outDir, "functions.txt"), funcs, 0o644); err != nil {
		return nil, err
	}
	c := &report.Coverage{Packages: packagePercents(pkgs), LeastCovered: []report.FunctionCoverage{}}
	var all []report.FunctionCoverage
	all, c.Percent = functionPercents(funcs)
	profileData, err := os.ReadFile(profile)
	if err != nil {
		return nil, err
	}
	countStatements(all, profileData)
	// Most statements never run first: a one-line accessor at 0% matters less than a branchy
	// function at 60%.
	slices.SortStableFunc(all, func(a, b report.FunctionCoverage) int {
		return cmp.Or(cmp.Compare(b.Uncovered, a.Uncovered), cmp.Compare(a.Percent, b.Percent), cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	c.LeastCovered = append(c.LeastCovered, all[:min(leastCovered, len(all))]...)
	return c, nil
}

// packagePercents reads `go tool covdata percent`:
// "\tgithub.com/.../gateway/internal/auth\t\tcoverage: 85.2% of statements", sorted by package.
func packagePercents(out []byte) []report.PackageCoverage {
	pkgs := []report.PackageCoverage{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == "coverage:" {
			if p, err := strconv.ParseFloat(strings.TrimSuffix(f[2], "%"), 64); err == nil {
				pkgs = append(pkgs, report.PackageCoverage{Package: strings.TrimPrefix(f[0], repo.ModulePath+"/"), Percent: p})
			}
		}
	}
	slices.SortFunc(pkgs, func(a, b report.PackageCoverage) int { return cmp.Compare(a.Package, b.Package) })
	return pkgs
}

// functionPercents reads `go tool cover -func`: "github.com/.../signal.go:99:\tstorableTime\t\t0.0%"
// a function, then "total:\t(statements)\t81.2%", the total it returns beside them. Generated
// deep copies are left out: they are not the gateway's logic.
func functionPercents(out []byte) ([]report.FunctionCoverage, float64) {
	var all []report.FunctionCoverage
	var total float64
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(f[2], "%"), 64)
		if err != nil {
			continue
		}
		if f[0] == "total:" {
			total = p
			continue
		}
		loc := strings.Split(strings.TrimSuffix(f[0], ":"), ":")
		if len(loc) < 2 {
			continue
		}
		line, _ := strconv.Atoi(loc[1])
		file := strings.TrimPrefix(loc[0], repo.ModulePath+"/")
		if strings.HasPrefix(filepath.Base(file), "zz_generated") {
			continue
		}
		all = append(all, report.FunctionCoverage{Function: f[1], File: file, Line: line, Percent: p})
	}
	return all, total
}

func goTool(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go tool %s: %w\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes(), nil
}

// countStatements fills Statements and Uncovered of every function from the coverage profile
// ("<pkg>/file.go:startLine.col,endLine.col numStmts count" per block): a block belongs to the
// function of its file whose first line is the last one at or before the block's.
func countStatements(funcs []report.FunctionCoverage, profile []byte) {
	byFile := map[string][]int{} // file -> indexes into funcs, by line
	for i, f := range funcs {
		byFile[f.File] = append(byFile[f.File], i)
	}
	for _, idx := range byFile {
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(funcs[a].Line, funcs[b].Line) })
	}
	sc := bufio.NewScanner(bytes.NewReader(profile))
	for sc.Scan() {
		loc, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.HasPrefix(sc.Text(), "mode:") {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 3 {
			continue
		}
		line, err := strconv.Atoi(f[0][:strings.IndexAny(f[0]+".", ".")])
		if err != nil {
			continue
		}
		stmts, err1 := strconv.Atoi(f[1])
		hits, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		idx := byFile[strings.TrimPrefix(loc, repo.ModulePath+"/")]
		owner := -1
		for _, i := range idx {
			if funcs[i].Line <= line {
				owner = i
			}
		}
		if owner < 0 {
			continue
		}
		funcs[owner].Statements += stmts
		if hits == 0 {
			funcs[owner].Uncovered += stmts
		}
	}
}
