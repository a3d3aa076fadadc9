package steps

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kubernaut/gateway-contract/support/poll"
)

// fakeRun is a runDriver for unit tests: what a test sets, and a nil-interface panic for the
// rest, so a test that needs more of the run says so at once.
type fakeRun struct {
	runDriver
	bounds  poll.Bounds
	scraper string
}

func (f fakeRun) Bounds() poll.Bounds  { return f.bounds }
func (f fakeRun) ScraperToken() string { return f.scraper }

// The file that may hold the harness, and the hook that hands it to that file.
const (
	driverFile = "driver.go"
	hookFunc   = "Initializer"
)

// TestDriversAreTheOnlyWayIn keeps steps/driver.go the one way from the steps to the harness: no
// other file selects a field or method of a *harness.Harness, or names the type or a harness
// function that returns one (but the hook, whose parameter it is), and no function or interface
// of driver.go hands out a harness type, so no step can get past the drivers.
func TestDriversAreTheOnlyWayIn(t *testing.T) {
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if files[name], err = parser.ParseFile(fset, name, nil, parser.SkipObjectResolution); err != nil {
			t.Fatal(err)
		}
	}
	ways, err := waysToAHarness(filepath.Join("..", "support", "harness"))
	if err != nil {
		t.Fatal(err)
	}
	if !ways["Harness"] || !ways["Setup"] {
		t.Fatalf("found %v as the ways to a harness: the check no longer knows support/harness", ways)
	}
	if !slices.Contains(names, driverFile) {
		t.Fatalf("steps/%s is gone: the check needs the file of the drivers", driverFile)
	}
	for _, v := range reachIns(fset, files, ways) {
		t.Error(v)
	}
}

// The checker itself: each way past the drivers is caught, and what the drivers and the hook do
// is not.
func TestReachInsCatchesEveryWayPastTheDrivers(t *testing.T) {
	const imp = "package steps\nimport \"github.com/kubernaut/gateway-contract/support/harness\"\n"
	tests := []struct {
		name, file, src string
		want            []string // each must be in one violation; none means no violation
	}{
		{"a step reads the harness's settings", "soak.go", imp +
			"type scenario struct{ h *harness.Harness }\nfunc (st *scenario) f() { _ = st.h.Settings.ReportDir }",
			[]string{"steps/soak.go:3: harness.Harness names the harness", "steps/soak.go:4: st.h.Settings reaches into"}},
		{"a step calls a method of a harness it was given", "access.go", imp +
			"func f(h *harness.Harness) { h.Admin() }",
			[]string{"steps/access.go:3: harness.Harness names", "steps/access.go:3: h.Admin reaches into"}},
		{"a step sets up a harness of its own", "soak.go", imp + "func f() { harness.Setup(nil, nil, nil) }",
			[]string{"harness.Setup names the harness"}},
		{"an aliased import", "soak.go",
			"package steps\nimport hs \"github.com/kubernaut/gateway-contract/support/harness\"\nfunc f(h *hs.Harness) { _ = h.Kube }",
			[]string{"hs.Harness names", "h.Kube reaches into"}},
		{"the hook passes the harness on", "scenario.go", imp +
			"func Initializer(h *harness.Harness) func() { run := newRun(h); return func() { _ = run } }", nil},
		{"the hook reaches in", "scenario.go", imp + "func Initializer(h *harness.Harness) { _ = h.Settings }",
			[]string{"steps/scenario.go:3: h.Settings reaches into"}},
		{"the drivers reach in", "driver.go", imp +
			"type harnessRun struct{ h *harness.Harness }\nfunc (r harnessRun) Admin() { _ = r.h.Admin() }", nil},
		{"a driver hands out the harness", "driver.go", imp + "type runDriver interface{ Harness() *harness.Harness }",
			[]string{"steps/driver.go:3: Harness hands out a harness type"}},
		{"a driver function hands out a harness gateway", "driver.go", imp + "func gatewayOf(r harnessRun) *harness.Gateway { return nil }",
			[]string{"gatewayOf hands out a harness type"}},
		{"a file that reaches in through a field of the drivers' file", "access.go",
			"package steps\nfunc f(st *scenario) { _ = st.h.Identity.Token }", []string{"steps/access.go:2: st.h.Identity reaches into"}},
		{"a step hands the harness to another package", "soak.go",
			"package steps\nfunc f(st *scenario) { soak.Run(nil, st.h, cfg) }", []string{"steps/soak.go:2: st.h takes the *harness.Harness past"}},
		{"a file without the harness", "signals.go", "package steps\nfunc f(st *scenario) { _ = st.run.Bounds() }", nil},
	}
	// The drivers' file beside each case (a case of driver.go replaces it) holds the harness in a
	// field, as the real one does.
	drivers := imp + "type scenario struct{ h *harness.Harness }"
	ways := map[string]bool{"Harness": true, "Setup": true}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fset := token.NewFileSet()
			files := map[string]*ast.File{}
			for name, src := range map[string]string{driverFile: drivers, tc.file: tc.src} {
				f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
				if err != nil {
					t.Fatal(err)
				}
				files[name] = f
			}
			got := reachIns(fset, files, ways)
			if len(got) != len(tc.want) {
				t.Fatalf("reachIns found %d violations, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(got, func(v string) bool { return strings.Contains(v, w) }) {
					t.Errorf("no violation says %q:\n%s", w, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// waysToAHarness are the names of package harness that give a *Harness: the type, and every
// exported function that returns one.
func waysToAHarness(dir string) (map[string]bool, error) {
	fset := token.NewFileSet()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	ways := map[string]bool{"Harness": true}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if ok && fn.Recv == nil && fn.Name.IsExported() && fn.Type.Results != nil && mentions(fn.Type.Results, "", "Harness") {
				ways[fn.Name.Name] = true
			}
		}
	}
	return ways, nil
}

// reachIns lists, as file:line and what to do, every way past the drivers in files.
func reachIns(fset *token.FileSet, files map[string]*ast.File, ways map[string]bool) []string {
	fields := harnessFields(files)
	var out []string
	for _, name := range sortedKeys(files) {
		f := files[name]
		local := harnessImport(f) // empty: the file reaches a harness only through a field
		at := func(n ast.Node) string { return fmt.Sprintf("steps/%s:%d", name, fset.Position(n.Pos()).Line) }
		switch {
		case name == driverFile && local != "":
			out = append(out, handedOut(f, local, at)...)
		case name != driverFile:
			if local != "" {
				out = append(out, namings(f, local, ways, at)...)
			}
			out = append(out, selections(f, local, fields, at)...)
		}
	}
	return out
}

// harnessImport is the name file f imports support/harness under; empty when it does not.
func harnessImport(f *ast.File) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); strings.HasSuffix(p, "/support/harness") {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return "harness"
		}
	}
	return ""
}

// isHarnessType reports whether e is local.Harness or *local.Harness.
func isHarnessType(e ast.Expr, local string) bool {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == local && sel.Sel.Name == "Harness"
}

// mentions reports whether n refers to package local (any name, or only name when given); an
// empty local means the harness package itself, whose own names are bare.
func mentions(n ast.Node, local, name string) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && local != "" && id.Name == local && (name == "" || x.Sel.Name == name) {
				found = true
			}
		case *ast.Ident:
			if local == "" && x.Name == name {
				found = true
			}
		}
		return !found
	})
	return found
}

// harnessFields are the names of struct fields, in any file, that hold a *harness.Harness.
func harnessFields(files map[string]*ast.File) map[string]bool {
	fields := map[string]bool{}
	for _, f := range files {
		local := harnessImport(f)
		if local == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if st, ok := n.(*ast.StructType); ok {
				for _, fl := range st.Fields.List {
					if isHarnessType(fl.Type, local) {
						for _, id := range fl.Names {
							fields[id.Name] = true
						}
					}
				}
			}
			return true
		})
	}
	return fields
}

// handedOut lists the functions and interface methods of the drivers' file whose results are
// of a harness type.
func handedOut(f *ast.File, local string, at func(ast.Node) string) []string {
	var out []string
	report := func(n ast.Node, name string, results *ast.FieldList) {
		if results != nil && mentions(results, local, "") {
			out = append(out, fmt.Sprintf("%s: %s hands out a harness type; a driver gives the steps what they need, never the harness "+
				"or its parts, or a step could reach past it: return a type of package steps (see controlPlane)", at(n), name))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncDecl:
			report(x, x.Name.Name, x.Type.Results)
		case *ast.InterfaceType:
			for _, m := range x.Methods.List {
				if ft, ok := m.Type.(*ast.FuncType); ok && len(m.Names) > 0 {
					report(m, m.Names[0].Name, ft.Results)
				}
			}
		}
		return true
	})
	return out
}

// namings lists where a file outside the drivers names a way to a harness, but the hook's
// parameter.
func namings(f *ast.File, local string, ways map[string]bool, at func(ast.Node) string) []string {
	var hook *ast.FieldList
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && fn.Name.Name == hookFunc {
			hook = fn.Type.Params
		}
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		id, ok := sel.X.(*ast.Ident)
		if !ok || id.Name != local || !ways[sel.Sel.Name] {
			return true
		}
		if hook != nil && sel.Pos() >= hook.Pos() && sel.End() <= hook.End() {
			return true
		}
		out = append(out, fmt.Sprintf("%s: %s.%s names the harness outside the drivers; only steps/%s holds the run's *harness.Harness "+
			"(%s hands it over): take the scenario's runDriver (st.run) instead, or a fakeRun in a test", at(sel), local, sel.Sel.Name, driverFile, hookFunc))
		return true
	})
	return out
}

// selections lists where a file outside the drivers selects a field or method of a
// *harness.Harness: of a variable or parameter of that type, or of a field that holds one.
func selections(f *ast.File, local string, fields map[string]bool, at func(ast.Node) string) []string {
	var out []string
	check := func(scope ast.Node, vars map[string]bool) {
		ast.Inspect(scope, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			into := false
			switch x := sel.X.(type) {
			case *ast.Ident:
				into = vars[x.Name]
			case *ast.SelectorExpr:
				into = fields[x.Sel.Name]
			}
			switch {
			case into:
				out = append(out, fmt.Sprintf("%s: %s reaches into the *harness.Harness; the steps reach the run only through its driver: "+
					"add what this step needs to runDriver in steps/%s and call it as st.run.<Method>()", at(sel), exprString(sel), driverFile))
				return false
			case fields[sel.Sel.Name]:
				out = append(out, fmt.Sprintf("%s: %s takes the *harness.Harness past the drivers; the steps reach the run only through its driver: "+
					"add what this step needs to runDriver in steps/%s and call it as st.run.<Method>()", at(sel), exprString(sel), driverFile))
			}
			return true
		})
	}
	fileVars := map[string]bool{}
	for _, d := range f.Decls {
		if gd, ok := d.(*ast.GenDecl); ok {
			fileVars = union(fileVars, harnessVars(gd, local))
		}
	}
	for _, d := range f.Decls {
		check(d, union(fileVars, harnessVars(d, local)))
	}
	return out
}

// harnessVars are the names declared in n (parameters, results, variables) of a harness type;
// conservative, they count for the whole of the declaration they are in.
func harnessVars(n ast.Node, local string) map[string]bool {
	vars := map[string]bool{}
	add := func(names []*ast.Ident, typ ast.Expr) {
		if typ != nil && isHarnessType(typ, local) {
			for _, id := range names {
				vars[id.Name] = true
			}
		}
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.FuncType:
			for _, fl := range []*ast.FieldList{x.Params, x.Results} {
				if fl != nil {
					for _, field := range fl.List {
						add(field.Names, field.Type)
					}
				}
			}
		case *ast.ValueSpec:
			add(x.Names, x.Type)
		}
		return true
	})
	return vars
}

func union(a, b map[string]bool) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// exprString renders a selector chain such as st.h.Settings.
func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	default:
		return "(...)"
	}
}

func sortedKeys(m map[string]*ast.File) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
