package harness

import (
	"path/filepath"

	"github.com/kubernaut/gateway-contract/support/repo"
)

// ReportPath is where the run's report file name goes: in E2E_REPORT_DIR, which is relative to
// the project root unless it is absolute, wherever go test runs from.
func (h *Harness) ReportPath(name string) (string, error) {
	dir := h.Settings.ReportDir
	if !filepath.IsAbs(dir) {
		var err error
		if dir, err = repo.Path(dir); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, name), nil
}
