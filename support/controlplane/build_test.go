package controlplane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/kubernaut/gateway-contract/support/gobuild"
	"github.com/kubernaut/gateway-contract/support/repo"
)

// TestPinsMatchBuildModule keeps the constants, the build module and the client libraries in
// step: the server is built from k8s.io/kubernetes KubernetesVersion, every staging module is
// replaced by the matching v0.x release, and etcd is EtcdVersion.
func TestPinsMatchBuildModule(t *testing.T) {
	path, err := repo.Path("support", "controlplane", "build", "go.mod")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	required := map[string]string{}
	for _, m := range requireLine.FindAllStringSubmatch(string(data), -1) {
		required[m[1]] = m[2]
	}
	if got := required["k8s.io/kubernetes"]; got != KubernetesVersion {
		t.Errorf("build module requires k8s.io/kubernetes %s, KubernetesVersion is %s", got, KubernetesVersion)
	}
	if got := required["go.etcd.io/etcd/server/v3"]; got != EtcdVersion {
		t.Errorf("build module requires etcd server %s, EtcdVersion is %s", got, EtcdVersion)
	}
	staging := "v0" + strings.TrimPrefix(KubernetesVersion, "v1")
	replaces := replaceLine.FindAllStringSubmatch(string(data), -1)
	if len(replaces) < 20 {
		t.Fatalf("build module replaces %d staging modules; k8s.io/kubernetes needs each of its ~30 replaced", len(replaces))
	}
	for _, r := range replaces {
		if r[1] != r[2] || r[3] != staging {
			t.Errorf("%s is replaced by %s %s, want %s %s to match kube-apiserver %s", r[1], r[2], r[3], r[1], staging, KubernetesVersion)
		}
	}
	mainMod, err := repo.Path("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mainData, err := os.ReadFile(mainMod)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range requireLine.FindAllStringSubmatch(string(mainData), -1) {
		if (m[1] == "k8s.io/client-go" || m[1] == "k8s.io/api" || m[1] == "k8s.io/apimachinery") && m[2] != staging {
			t.Errorf("%s is %s but the server is %s: client and server must match", m[1], m[2], KubernetesVersion)
		}
	}
}

var (
	requireLine = regexp.MustCompile(`(?m)^\s*([a-z0-9./-]+) (v[0-9][^\s]*)(?: // indirect)?$`)
	replaceLine = regexp.MustCompile(`(?m)^\s*(k8s\.io/[a-z0-9-]+) => (k8s\.io/[a-z0-9-]+) (v[^\s]+)$`)
)

func TestLdflagsStampVersion(t *testing.T) {
	f := ldflags()
	for _, want := range []string{
		"k8s.io/component-base/version.gitVersion=" + KubernetesVersion,
		"k8s.io/component-base/version.gitMajor=1",
		"k8s.io/component-base/version.gitMinor=36",
	} {
		if !strings.Contains(f, want) {
			t.Errorf("ldflags %q lack %q", f, want)
		}
	}
}

func TestBinDirIsKeyedByVersionAndHonoursOverride(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("E2E_CONTROLPLANE_CACHE", cache)
	dir, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != cache || !strings.Contains(filepath.Base(dir), KubernetesVersion) || !strings.Contains(filepath.Base(dir), EtcdVersion) {
		t.Fatalf("BinDir() = %s, want a directory under %s naming both versions", dir, cache)
	}
	if gobuild.IsComplete(dir) {
		t.Fatal("an empty cache reports a complete build")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if gobuild.IsComplete(dir) {
		t.Fatal("a directory without the stamp (an interrupted build) reports complete")
	}
	if err := os.WriteFile(filepath.Join(dir, gobuild.CompleteStamp), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := EnsureBinaries(context.Background(), os.Stderr)
	if err != nil || got != dir {
		t.Fatalf("EnsureBinaries() = %s, %v; want the stamped %s without building", got, err, dir)
	}
}

// TestBinDirKeyIsTheLegacyKey pins the cache key to the formula it had before the build moved to
// support/gobuild: sha256 of go.mod, go.sum, ldflags, the cgo setting, the Go version and platform.
// A refactor that changed it would silently throw away every machine's cached control plane.
func TestBinDirKeyIsTheLegacyKey(t *testing.T) {
	t.Setenv("E2E_CONTROLPLANE_CACHE", t.TempDir())
	moduleDir, err := repo.Path("support", "controlplane", "build")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(moduleDir, f))
		if err != nil {
			t.Fatal(err)
		}
		h.Write(data)
	}
	io.WriteString(h, ldflags()+buildCgo+runtime.Version()+runtime.GOOS+runtime.GOARCH)
	want := fmt.Sprintf("k8s-%s-etcd-%s-%s", KubernetesVersion, EtcdVersion, hex.EncodeToString(h.Sum(nil))[:12])
	dir, err := BinDir()
	if err != nil {
		t.Fatal(err)
	}
	if got := filepath.Base(dir); got != want {
		t.Fatalf("BinDir() ends in %s, want %s (the key the cached builds were made under)", got, want)
	}
}
