package harness

import (
	"path/filepath"
	"testing"

	"github.com/kubernaut/gateway-contract/support/repo"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// A report goes into E2E_REPORT_DIR: as given when absolute, else under the project root.
func TestReportPath(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	abs := t.TempDir()
	for _, tc := range []struct{ dir, want string }{
		{dir: "reports", want: filepath.Join(root, "reports", "soak.json")},
		{dir: abs, want: filepath.Join(abs, "soak.json")},
	} {
		h := &Harness{Settings: settings.Settings{ReportDir: tc.dir}}
		got, err := h.ReportPath("soak.json")
		if err != nil || got != tc.want {
			t.Errorf("ReportPath with E2E_REPORT_DIR=%q = %q, %v; want %q", tc.dir, got, err, tc.want)
		}
	}
}
