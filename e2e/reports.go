package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubernaut/gateway-contract/support/harness"
	"github.com/kubernaut/gateway-contract/support/report"
	"github.com/kubernaut/gateway-contract/support/repo"
)

func featuresDir() string {
	dir, err := repo.Path("features")
	if err != nil {
		return "../features"
	}
	return dir
}

func reportsDir(flagValue string) (string, error) {
	dir := flagValue
	if dir == "" {
		var err error
		if dir, err = repo.Path("reports"); err != nil {
			return "", err
		}
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("reports directory %s: %w", flagValue, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating the reports directory: %w", err)
	}
	return dir, nil
}

// writeTraceability builds traceability.{md,html,json} from the catalog and this run's cucumber
// files, the same way `go run ./support/cmd/trace` does in any pipeline.
func writeTraceability(out string, s harness.Settings) (*report.Report, error) {
	catalog, err := report.LoadCatalog(filepath.Join(featuresDir(), "requirements.yaml"))
	if err != nil {
		return nil, err
	}
	runs, err := report.LoadCucumber(filepath.Join(out, "cucumber.json"), filepath.Join(out, "cucumber-quarantine.json"))
	if err != nil {
		return nil, err
	}
	rep, err := report.Build(catalog, runs...)
	if err != nil {
		return nil, err
	}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"traceability.md":   func(b *bytes.Buffer) error { return rep.WriteMarkdown(b) },
		"traceability.html": func(b *bytes.Buffer) error { return rep.WriteHTML(b) },
		"traceability.json": func(b *bytes.Buffer) error { return rep.WriteJSON(b) },
	} {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			return nil, fmt.Errorf("rendering %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name), buf.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return rep, nil
}
