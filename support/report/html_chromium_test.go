//go:build chromium

// The browser check runs in `make test` (target report-html), where .ci/run installs Chromium;
// `make unit` leaves it out so that the unit tests need no browser.

package report

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumMissing is the one-line failure when the browser is absent: the
// HTML report is a release artefact, so not checking it is a failure.
const chromiumMissing = "chromium not found: install it with 'apt-get install -y chromium' (the project's .ci/run does this)"

// findChromium returns the headless browser on PATH, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// runChromium runs the browser headless on a file with a bounded time and
// a throw-away profile, returning stdout.
func runChromium(t *testing.T, bin, profile string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir=" + profile}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %v\nstderr:\n%s", bin, args, stderr.String())
	return stdout.Bytes()
}

func TestHTMLInChromium(t *testing.T) {
	bin := findChromium()
	if bin == "" {
		t.Fatal(chromiumMissing)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "traceability.html")
	f, err := os.Create(page)
	require.NoError(t, err)
	require.NoError(t, fullReport(t).WriteHTML(f))
	require.NoError(t, f.Close())
	url := "file://" + page

	dom := string(runChromium(t, bin, filepath.Join(dir, "profile-dom"), "--dump-dom", url))
	for _, want := range []string{
		"Summary", "requirements proven", "Traceability gate: FAILED",
		`id="BR-GATEWAY-001"`, "BR-GATEWAY-018", "Quarantined scenarios",
		"expected status \"ignored\", got \"created\"",
	} {
		assert.Contains(t, dom, want)
	}

	shot := filepath.Join(dir, "shot.png")
	runChromium(t, bin, filepath.Join(dir, "profile-shot"), "--window-size=1280,"+cmpOr(os.Getenv("TRACE_SCREENSHOT_HEIGHT"), "2000"), "--screenshot="+shot, url)
	png, err := os.ReadFile(shot)
	require.NoError(t, err)
	assert.Greater(t, len(png), 1000)
	assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")), "not a PNG")
	if dst := os.Getenv("TRACE_SCREENSHOT"); dst != "" { // for a look by hand
		require.NoError(t, os.WriteFile(dst, png, 0o644))
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
