package cluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExistingMissingPrerequisites(t *testing.T) {
	home := t.TempDir()
	missingFile := filepath.Join(t.TempDir(), "absent")
	garbage := filepath.Join(t.TempDir(), "garbage")
	require.NoError(t, os.WriteFile(garbage, []byte("{not: [yaml"), 0o600))
	refused := writeKubeconfig(t, "https://127.0.0.1:1")

	for _, tc := range []struct {
		name  string
		env   map[string]string
		wants []string
	}{
		{"KUBECONFIG names a missing file", map[string]string{"KUBECONFIG": missingFile},
			[]string{"existing cluster: no kubeconfig at " + missingFile + ": fix KUBECONFIG or set E2E_CLUSTER=local"}},
		{"no KUBECONFIG and no ~/.kube/config", map[string]string{"HOME": home},
			[]string{"existing cluster: no kubeconfig at " + filepath.Join(home, ".kube", "config") + ": set KUBECONFIG or E2E_CLUSTER=local"}},
		{"unreadable kubeconfig", map[string]string{"KUBECONFIG": garbage},
			[]string{"existing cluster: cannot read kubeconfig " + garbage, "fix the file"}},
		{"unknown context", map[string]string{"KUBECONFIG": refused, "E2E_KUBE_CONTEXT": "nope"},
			[]string{`existing cluster: no context "nope" in ` + refused + ": set E2E_KUBE_CONTEXT to one of [ctx]"}},
		{"server refuses connections", map[string]string{"KUBECONFIG": refused},
			[]string{"existing cluster: API server https://127.0.0.1:1", "is not reachable", "E2E_CLUSTER=local", "connection refused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			begin := time.Now()
			c, err := newExisting(optionsFrom(env(tc.env))).Start(context.Background())
			require.Nil(t, c)
			requirePrereq(t, err, tc.wants...)
			require.Less(t, time.Since(begin), existingProbeTimeout+5*time.Second)
		})
	}
}

// A reachable server: Start succeeds, and Stop has nothing to delete however often it is called.
func TestExistingStartAndStopDeletesNothing(t *testing.T) {
	var nonGET int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			nonGET++
		}
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"36","gitVersion":"v1.36.3"}`))
	}))
	defer srv.Close()

	p, err := fromEnv(env(map[string]string{"E2E_CLUSTER": "existing", "KUBECONFIG": writeKubeconfig(t, srv.URL)}))
	require.NoError(t, err)
	c, err := p.Start(context.Background())
	require.NoError(t, err)
	require.Equal(t, NameExisting, c.Name())
	require.Equal(t, srv.URL, c.RESTConfig().Host)

	for range 2 {
		require.NoError(t, c.Stop(context.Background()))
	}
	require.Zero(t, nonGET, "Stop must not change the cluster")
}
