package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/report"
)

// The lines below are what `go test -cover` and `go tool cover -func` print about the gateway:
// text to parse, with the module path in front, not imports.

func TestPackagePercents(t *testing.T) {
	out := "\t" + repo.ModulePath + "/gateway/internal/signal\t\tcoverage: 90.0% of statements\n" +
		"\t" + repo.ModulePath + "/gateway/internal/auth\t\tcoverage: 85.2% of statements\n" +
		"garbage line\n\tx\t\tcoverage: n/a\n"
	assert.Equal(t, []report.PackageCoverage{
		{Package: "gateway/internal/auth", Percent: 85.2},
		{Package: "gateway/internal/signal", Percent: 90},
	}, packagePercents([]byte(out)))
	assert.Equal(t, []report.PackageCoverage{}, packagePercents(nil))
}

func TestFunctionPercents(t *testing.T) {
	out := repo.ModulePath + "/gateway/internal/signal/signal.go:99:\tstorableTime\t\t0.0%\n" +
		repo.ModulePath + "/gateway/api/v1alpha1/zz_generated.deepcopy.go:10:\tDeepCopy\t\t0.0%\n" +
		"not a line\n" +
		"total:\t(statements)\t81.2%\n"
	funcs, total := functionPercents([]byte(out))
	assert.Equal(t, []report.FunctionCoverage{{Function: "storableTime", File: "gateway/internal/signal/signal.go", Line: 99, Percent: 0}}, funcs)
	assert.InDelta(t, 81.2, total, 1e-9)
}
