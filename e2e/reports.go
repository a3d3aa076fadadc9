package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/report"
)

func featuresDir() string {
	dir, err := repo.Path("features")
	if err != nil {
		return "../features"
	}
	return dir
}

func reportsDir(flagValue string) (string, error) {
	// Relative directories are taken from the project root, not from e2e/ where go test runs.
	dir := flagValue
	if dir == "" {
		dir = "reports"
	}
	if !filepath.IsAbs(dir) {
		var err error
		if dir, err = repo.Path(dir); err != nil {
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

// mergeQuarantine folds the quarantine pass's cucumber results into cucumber.json, so that one
// run of the suite is one run in the report (and in `make flake`), whatever passes it took.
func mergeQuarantine(out string) error {
	main, quarantine := filepath.Join(out, "cucumber.json"), filepath.Join(out, "cucumber-quarantine.json")
	var all []json.RawMessage
	for _, path := range []string{main, quarantine} {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading godog's results: %w", err)
		}
		var features []json.RawMessage
		if len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, &features); err != nil {
				return fmt.Errorf("%s is not cucumber JSON: %w", path, err)
			}
		}
		all = append(all, features...)
	}
	merged, err := json.MarshalIndent(all, "", "    ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(main, merged, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", main, err)
	}
	return os.Remove(quarantine)
}

// relative names a file from the project root in reports, so that they read the same on every
// machine; it falls back to the absolute path.
func relative(path string) string {
	root, err := repo.Root()
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return path
}

// writeTraceability builds traceability.{md,html,json} from the catalog and this run's cucumber
// files, the same way `go run ./support/cmd/trace` does in any pipeline.
func writeTraceability(out string) (*report.Report, error) {
	catalogPath := filepath.Join(featuresDir(), "requirements.yaml")
	data, err := os.ReadFile(catalogPath)
	if err != nil {
		return nil, fmt.Errorf("reading the requirement catalog: %w", err)
	}
	catalog, err := report.ParseCatalog(relative(catalogPath), data)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(out, "cucumber.json")
	data, err = os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading godog's results: %w", err)
	}
	run, err := report.ParseCucumber(relative(path), data)
	if err != nil {
		return nil, err
	}
	runs := []report.Run{run}
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
