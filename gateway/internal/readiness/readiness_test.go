package readiness

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

func checker(t *testing.T, handler http.HandlerFunc) *Discovery {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	d, err := NewDiscovery(&rest.Config{Host: srv.URL})
	require.NoError(t, err)
	return d
}

func resources(names ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/kubernaut.ai/v1alpha1" {
			http.NotFound(w, r)
			return
		}
		list := metav1.APIResourceList{GroupVersion: "kubernaut.ai/v1alpha1"}
		for _, n := range names {
			list.APIResources = append(list.APIResources, metav1.APIResource{Name: n, Namespaced: true})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	}
}

func TestReady(t *testing.T) {
	assert.NoError(t, checker(t, resources("remediationrequests", "remediationrequests/status")).Ready(context.Background()))
}

func TestNotReady(t *testing.T) {
	assert.Error(t, checker(t, resources("somethingelse")).Ready(context.Background()), "CRD group without the resource")
	assert.Error(t, checker(t, http.NotFound).Ready(context.Background()), "CRD not installed")
}

func TestSlowDiscoveryIsNotReadyWithinOneSecond(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	d := checker(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	start := time.Now()
	assert.Error(t, d.Ready(context.Background()))
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
}
