package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeEngine is a dockerEngine with canned answers.
type fakeEngine struct {
	pingErr    error
	images     map[string]bool
	inspectErr error
	privErr    error
}

func (f *fakeEngine) Privileged(context.Context) error { return f.privErr }

func (f *fakeEngine) Host() string               { return "unix:///fake.sock" }
func (f *fakeEngine) Ping(context.Context) error { return f.pingErr }
func (f *fakeEngine) Close() error               { return nil }
func (f *fakeEngine) HasImage(_ context.Context, ref string) (bool, error) {
	return f.images[ref], f.inspectErr
}

func fakeDial(f *fakeEngine, err error) dockerDialer {
	return func(string) (dockerEngine, error) {
		if err != nil {
			return nil, err
		}
		return f, nil
	}
}

// Every Docker prerequisite, for both Docker-based providers, without a Docker engine.
func TestDockerPrerequisitesFake(t *testing.T) {
	const img = "example/absent:v0"
	providers := map[string]func(dockerDialer) Provider{
		"k3s cluster": func(d dockerDialer) Provider {
			return &k3sProvider{image: img, host: "unix:///fake.sock", dial: d, startTimeout: time.Minute}
		},
		"kind cluster": func(d dockerDialer) Provider {
			return &kindProvider{image: img, host: "unix:///fake.sock", dial: d, startTimeout: time.Minute,
				lookPath: func(f string) (string, error) { return "/bin/" + f, nil }}
		},
	}
	imageVar := map[string]string{"k3s cluster": "E2E_K3S_IMAGE", "kind cluster": "E2E_KIND_IMAGE"}
	for who, mk := range providers {
		for _, tc := range []struct {
			name   string
			dial   dockerDialer
			prereq bool
			wants  []string
		}{
			{"bad DOCKER_HOST", fakeDial(nil, errors.New("unable to parse docker host")), true,
				[]string{who + ": no Docker engine at unix:///fake.sock: start dockerd or set DOCKER_HOST", "unable to parse"}},
			{"engine does not answer", fakeDial(&fakeEngine{pingErr: errors.New("connection refused")}, nil), true,
				[]string{who + ": no Docker engine at unix:///fake.sock: start dockerd or set DOCKER_HOST (connection refused)"}},
			{"privileged refused", fakeDial(&fakeEngine{privErr: fmt.Errorf("%w: runc create failed:\nunable to apply caps", errPrivilegedRefused)}, nil), true,
				[]string{who + ": the Docker engine at unix:///fake.sock refuses privileged containers, which " + strings.TrimSuffix(who, " cluster") +
					" runs in: use a host or CI runner that allows them (GitHub's hosted runners do), or set E2E_CLUSTER=local (privileged containers refused: runc create failed:; unable to apply caps)"}},
			{"privilege probe fails", fakeDial(&fakeEngine{privErr: errors.New("build: disk full")}, nil), false,
				[]string{who + ": probe privileged containers in the Docker engine at unix:///fake.sock: build: disk full"}},
			{"image absent", fakeDial(&fakeEngine{}, nil), true,
				[]string{who + ": image " + img + " is not in the local Docker engine and cannot be pulled here: " +
					"load it with 'docker load -i <file>' or set " + imageVar[who] + " to a local image"}},
			{"inspect fails", fakeDial(&fakeEngine{inspectErr: errors.New("boom")}, nil), false,
				[]string{who + ": inspect image " + img + " in the Docker engine at unix:///fake.sock: boom"}},
		} {
			t.Run(who+"/"+tc.name, func(t *testing.T) {
				c, err := mk(tc.dial).Start(context.Background())
				require.Nil(t, c)
				if tc.prereq {
					requirePrereq(t, err, tc.wants...)
				} else {
					require.EqualError(t, err, tc.wants[0])
				}
			})
		}
	}
}

func TestKindBinaryPrerequisites(t *testing.T) {
	for _, tc := range []struct {
		name  string
		path  string
		wants []string
	}{
		{"no kind", t.TempDir(), []string{"kind cluster: no 'kind' binary on PATH: install it with " +
			"'go install sigs.k8s.io/kind@" + KindVersion + "' (or set E2E_CLUSTER=local)"}},
		{"no docker CLI", fakeBins(t, "kind"), []string{"kind cluster: no 'docker' binary on PATH", "install the Docker CLI"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			p, err := fromEnv(env(map[string]string{"E2E_CLUSTER": "kind"}))
			require.NoError(t, err)
			_, err = p.Start(context.Background())
			requirePrereq(t, err, tc.wants...)
		})
	}
}

// The real Docker client against an engine that is not there.
func TestNoDockerEngineReal(t *testing.T) {
	for _, name := range []string{NameK3s, NameKind} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("PATH", fakeBins(t, "kind", "docker")) // kind's binaries, so its Docker check runs
			t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
			t.Setenv("E2E_CLUSTER", name)
			p, err := fromEnv(os.Getenv)
			require.NoError(t, err)
			_, err = p.Start(context.Background())
			requirePrereq(t, err, name+" cluster: no Docker engine at unix:///nonexistent.sock: start dockerd or set DOCKER_HOST")
		})
	}
}

func TestPrivilegeVerdict(t *testing.T) {
	require.NoError(t, privilegeVerdict(nil))
	require.NoError(t, privilegeVerdict(errors.New(`OCI runtime create failed: exec: "/privilege-probe": stat /privilege-probe: no such file or directory`)))
	err := privilegeVerdict(errors.New("OCI runtime create failed: unable to apply caps: operation not permitted"))
	require.ErrorIs(t, err, errPrivilegedRefused)
	require.ErrorContains(t, err, "unable to apply caps")
}

// localEngineRefusesPrivileged probes the local engine, skipping without one.
func localEngineRefusesPrivileged(t *testing.T) bool {
	t.Helper()
	if _, err := os.Stat("/var/run/docker.sock"); err != nil {
		t.Skip("no local Docker engine at /var/run/docker.sock")
	}
	eng, err := dialDocker("unix:///var/run/docker.sock")
	require.NoError(t, err)
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), dockerPrivilegeTimeout)
	defer cancel()
	err = eng.Privileged(ctx)
	if err != nil && !errors.Is(err, errPrivilegedRefused) {
		t.Fatalf("privilege probe: %v", err)
	}
	return err != nil
}

// The real local engine, where it refuses privileged containers (this development machine's
// does): k3s and kind fail at once, in one line that says so, not after the k3s module's
// four-minute wait for a log line that never comes.
func TestPrivilegedRefusedRealDocker(t *testing.T) {
	if !localEngineRefusesPrivileged(t) {
		t.Skip("the local Docker engine runs privileged containers")
	}
	for _, name := range []string{NameK3s, NameKind} {
		t.Run(name, func(t *testing.T) {
			if name == NameKind {
				t.Setenv("PATH", fakeBins(t, "kind", "docker"))
			}
			t.Setenv("DOCKER_HOST", "")
			p, err := fromEnv(env(map[string]string{"E2E_CLUSTER": name}))
			require.NoError(t, err)
			begin := time.Now()
			_, err = p.Start(context.Background())
			requirePrereq(t, err, name+" cluster: the Docker engine at unix:///var/run/docker.sock refuses privileged containers, which "+name+" runs in",
				"or set E2E_CLUSTER=local")
			require.Less(t, time.Since(begin), dockerPrivilegeTimeout)
		})
	}
}

// The real local engine, which holds no such image: the error comes at once, not after a pull
// attempt times out. (An engine that refuses privileged containers says that first.)
func TestImageAbsentRealDocker(t *testing.T) {
	if localEngineRefusesPrivileged(t) {
		t.Skip("the local Docker engine refuses privileged containers, which k3s and kind check first (TestPrivilegedRefusedRealDocker)")
	}
	const img = "gateway-contract-e2e/certainly-absent:never"
	for _, tc := range []struct{ name, imageVar string }{
		{NameK3s, "E2E_K3S_IMAGE"},
		{NameKind, "E2E_KIND_IMAGE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == NameKind {
				// kind itself is not installed here; the docker CLI may be. Fake what is missing.
				path := fakeBins(t, "kind")
				if docker, err := exec.LookPath("docker"); err == nil {
					require.NoError(t, os.Symlink(docker, path+"/docker"))
				} else {
					path = fakeBins(t, "kind", "docker")
				}
				t.Setenv("PATH", path)
			}
			t.Setenv("DOCKER_HOST", "")
			p, err := fromEnv(env(map[string]string{"E2E_CLUSTER": tc.name, tc.imageVar: img}))
			require.NoError(t, err)
			begin := time.Now()
			_, err = p.Start(context.Background())
			requirePrereq(t, err, tc.name+" cluster: image "+img+" is not in the local Docker engine", tc.imageVar)
			require.Less(t, time.Since(begin), 30*time.Second)
		})
	}
}
