package report

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cucumber/godog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRealGodogOutput runs godog v0.16 in-process with its cucumber
// formatter, so the report is checked against the real format and not only
// against hand-written fixtures.
func TestRealGodogOutput(t *testing.T) {
	var out bytes.Buffer
	suite := godog.TestSuite{
		Name: "report",
		ScenarioInitializer: func(sc *godog.ScenarioContext) {
			sc.Step(`^a passing step that attaches a log$`, func(ctx context.Context) (context.Context, error) {
				return godog.Attach(ctx, godog.Attachment{Body: []byte("line 1\nline 2"), FileName: "gateway.log", MediaType: "text/plain"}), nil
			})
			sc.Step(`^a step fails$`, func(ctx context.Context) (context.Context, error) {
				return godog.Attach(ctx, godog.Attachment{Body: []byte(`{"status":503}`), FileName: "response.json", MediaType: "application/json"}),
					errors.New("expected 201, got 503")
			})
			sc.Step(`^a pending step$`, func() error { return godog.ErrPending })
		},
		Options: &godog.Options{
			Format:   "cucumber",
			Output:   &out,
			Paths:    []string{filepath.Join("testdata", "features", "godog.feature")},
			NoColors: true,
		},
	}
	assert.NotZero(t, suite.Run(), "the suite has failing scenarios")

	run, err := ParseCucumber("godog.json", out.Bytes())
	require.NoError(t, err, out.String())
	cat, err := LoadCatalog(filepath.Join("testdata", "catalog.yaml"))
	require.NoError(t, err)
	r, err := Build(cat, run)
	require.NoError(t, err)

	tests := []struct {
		scenario string
		result   Status
		verdict  ReqStatus
		req      string
	}{
		{"Passing with a log", StatusPassed, ReqProven, "BR-GATEWAY-001"},
		{"Failing with a response", StatusFailed, ReqFailing, "BR-GATEWAY-002"},
		{"Pending", StatusPending, ReqFailing, "BR-GATEWAY-003"},
		{"Undefined", StatusUndefined, ReqFailing, "BR-GATEWAY-004"},
		{"Quarantined", StatusFailed, ReqQuarantined, "BR-GATEWAY-005"},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s := r.scenario(t, tt.scenario)
			assert.Equal(t, tt.result, s.Result)
			assert.Equal(t, []string{tt.req}, s.Requirements)
			assert.Contains(t, s.Tags, "@ingestion", "feature tags reach the scenario")
			assert.Equal(t, tt.verdict, r.requirement(t, tt.req).Status)
		})
	}

	failing := r.scenario(t, "Failing with a response").Latest().Failure
	require.NotNil(t, failing)
	assert.Equal(t, "When a step fails", failing.Step)
	assert.Equal(t, "expected 201, got 503", failing.Message)
	var names []string
	for _, a := range failing.Attachments {
		names = append(names, a.Name)
	}
	assert.Contains(t, names, "response.json")
	assert.Equal(t, "waits for the fault proxy (fault-proxy-wait)", r.scenario(t, "Quarantined").QuarantineReason)

	// each example row is its own scenario, told apart by its line
	outline := r.requirement(t, "BR-GATEWAY-006").Scenarios
	require.Len(t, outline, 2)
	assert.NotEqual(t, outline[0].Line, outline[1].Line)
	assert.Equal(t, ReqProven, r.requirement(t, "BR-GATEWAY-006").Status)
}
