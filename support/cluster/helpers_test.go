package cluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// env turns a map into a getenv.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// requirePrereq asserts that err is a one-line missing-prerequisite error containing every want.
func requirePrereq(t *testing.T, err error, wants ...string) {
	t.Helper()
	require.Error(t, err)
	t.Log(err)
	require.ErrorIs(t, err, ErrMissingPrerequisite)
	require.NotContains(t, err.Error(), "\n", "error must be one line")
	for _, w := range wants {
		require.Contains(t, err.Error(), w)
	}
}

// writeKubeconfig writes a one-context kubeconfig for server and returns its path.
func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: server}
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["ctx"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	cfg.CurrentContext = "ctx"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

// fakeBins puts executables with the given names in a new directory and returns it, so that
// exec.LookPath finds tools that are not installed.
func fakeBins(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		script := "#!/bin/sh\necho 'fake " + n + " must not run' >&2\nexit 1\n"
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(script), 0o755))
	}
	return dir
}

func TestOneLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a", "a"},
		{"a\nb", "a; b"},
		{" a \r\n\n b\n", "a; b"},
	} {
		require.Equal(t, tc.want, oneLine(tc.in), strings.ReplaceAll(tc.in, "\n", `\n`))
	}
}

// optionsFrom reads Options out of variables named as the settings name them, so that the
// tables below read like the environments users write.
func optionsFrom(getenv func(string) string) Options {
	return Options{
		Kubeconfigs: filepath.SplitList(getenv("KUBECONFIG")),
		Home:        getenv("HOME"),
		KubeContext: getenv("E2E_KUBE_CONTEXT"),
		DockerHost:  getenv("DOCKER_HOST"),
		K3sImage:    getenv("E2E_K3S_IMAGE"),
		KindImage:   getenv("E2E_KIND_IMAGE"),
		Assets:      getenv("KUBEBUILDER_ASSETS"),
	}
}

// fromEnv is New for the provider E2E_CLUSTER names, with optionsFrom's options.
func fromEnv(getenv func(string) string) (Provider, error) {
	return New(getenv("E2E_CLUSTER"), optionsFrom(getenv))
}
