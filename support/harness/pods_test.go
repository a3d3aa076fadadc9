package harness

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/support/controlplane"
)

// loaderCluster is a cluster.ImageLoader that records the archives it was given.
type loaderCluster struct {
	archives []string
	tags     []string
	err      error
}

func (c *loaderCluster) Name() string               { return "kind" }
func (c *loaderCluster) RESTConfig() *rest.Config   { return &rest.Config{} }
func (c *loaderCluster) Stop(context.Context) error { return nil }
func (c *loaderCluster) LoadImageArchive(_ context.Context, path string) error {
	c.archives = append(c.archives, path)
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return err
	}
	for _, d := range m {
		c.tags = append(c.tags, d.RepoTags...)
	}
	return c.err
}

// On a cluster that loads images (kind), the run's image reaches the nodes as a docker-save
// archive under its tag, and a refusal fails the deployment in one line; on others, the harness
// plays the kubelet and nothing is loaded.
func TestImageReachesTheNodesOfACluster(t *testing.T) {
	for _, tc := range []struct {
		name    string
		loadErr error
	}{
		{"loaded", nil},
		{"the nodes refuse it", errors.New("kind cluster: loading the image archive: no space left on device")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &loaderCluster{err: tc.loadErr}
			h := &Harness{image: "kubernaut-gateway:abc123", built: empty.Image, workDir: t.TempDir(), log: io.Discard}
			h.Ready.Cluster = c
			if !h.realPods() {
				t.Fatal("a cluster that loads images with a built image: want real Pods")
			}
			err := h.loadImage(context.Background(), c)
			if len(c.archives) != 1 || filepath.Dir(c.archives[0]) != h.workDir {
				t.Fatalf("archives loaded = %v, want one in the work directory", c.archives)
			}
			if len(c.tags) != 1 || c.tags[0] != "kubernaut-gateway:abc123" {
				t.Fatalf("the archive's tags = %v, want the run's image tag", c.tags)
			}
			switch {
			case tc.loadErr == nil && err != nil:
				t.Fatalf("loadImage = %v", err)
			case tc.loadErr != nil && (!errors.Is(err, tc.loadErr) || strings.Contains(err.Error(), "\n")):
				t.Fatalf("loadImage = %v, want the loader's error on one line", err)
			}
		})
	}
	plain := &Harness{image: "kubernaut-gateway:abc123", built: empty.Image}
	plain.Ready.Cluster = &fakeCluster{}
	if plain.realPods() {
		t.Fatal("a cluster without nodes: the harness runs the Pod template's container itself")
	}
}

type fakeCluster struct{}

func (fakeCluster) Name() string               { return "local" }
func (fakeCluster) RESTConfig() *rest.Config   { return &rest.Config{} }
func (fakeCluster) Stop(context.Context) error { return nil }

// A port-forward to a Pod that no node runs fails at once, in one line that names the Pod: what a
// user of the Pods on kind sees when the Deployment's Pod is not there yet. The control plane has
// no nodes, so every Pod stays Pending.
func TestPortForwardToAPodWithoutANode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane: not in -short")
	}
	ctx := context.Background()
	cp, err := controlplane.Start(ctx, "", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Stop() })
	kube := kubernetes.NewForConfigOrDie(cp.RESTConfig())
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gateway-pending", Namespace: "default"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "gateway", Image: "kubernaut-gateway:test"}}},
	}
	if _, err := kube.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, stop, err := forward(ctx, cp.RESTConfig(), "default", "gateway-pending", 8080, io.Discard)
	if err == nil {
		stop()
		t.Fatal("a port-forward to a Pod without a node succeeded")
	}
	t.Log(err)
	if !strings.Contains(err.Error(), "default/gateway-pending:8080") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("forward = %v, want one line naming the Pod and port", err)
	}
}
