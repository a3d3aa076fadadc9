package cluster

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewSelectsProvider(t *testing.T) {
	for _, tc := range []struct {
		value, want string
	}{
		{"", NameLocal},
		{"local", NameLocal},
		{"existing", NameExisting},
		{"k3s", NameK3s},
		{"kind", NameKind},
		{" kind ", NameKind},
		{"container", NameContainer},
	} {
		t.Run("E2E_CLUSTER="+tc.value, func(t *testing.T) {
			p, err := fromEnv(env(map[string]string{"E2E_CLUSTER": tc.value}))
			require.NoError(t, err)
			require.Equal(t, tc.want, p.Name())
		})
	}
}

func TestNewUnknownValue(t *testing.T) {
	_, err := fromEnv(env(map[string]string{"E2E_CLUSTER": "minikube"}))
	require.EqualError(t, err,
		`cluster: unknown E2E_CLUSTER "minikube": valid values are local (default), existing, k3s, kind, container`)
}

func TestNewReadsSettings(t *testing.T) {
	p, err := fromEnv(env(map[string]string{"E2E_CLUSTER": "k3s", "E2E_K3S_IMAGE": "my/k3s:1", "DOCKER_HOST": "tcp://h:2375"}))
	require.NoError(t, err)
	k := p.(*k3sProvider)
	require.Equal(t, "my/k3s:1", k.image)
	require.Equal(t, "tcp://h:2375", k.host)

	p, err = fromEnv(env(map[string]string{"E2E_CLUSTER": "k3s"}))
	require.NoError(t, err)
	require.Equal(t, DefaultK3sImage, p.(*k3sProvider).image)
	require.Equal(t, "unix:///var/run/docker.sock", p.(*k3sProvider).host)

	p, err = fromEnv(env(map[string]string{"E2E_CLUSTER": "kind"}))
	require.NoError(t, err)
	require.Equal(t, DefaultKindImage, p.(*kindProvider).image)

	p, err = fromEnv(env(map[string]string{"E2E_CLUSTER": "existing", "KUBECONFIG": ":/a/one:/a/two", "E2E_KUBE_CONTEXT": "c"}))
	require.NoError(t, err)
	e := p.(*existingProvider)
	require.Equal(t, "/a/one", e.kubeconfig)
	require.Equal(t, "c", e.context)

	p, err = fromEnv(env(map[string]string{"E2E_CLUSTER": "existing", "HOME": "/home/u"}))
	require.NoError(t, err)
	require.Equal(t, "/home/u/.kube/config", p.(*existingProvider).kubeconfig)
}
