package auth

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"

	"github.com/kubernaut/gateway-contract/gateway/internal/kubeclient"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

// fakeAPI serves TokenReview and SubjectAccessReview like kube-apiserver: a known token is
// authenticated, an unknown one is refused with status.error; a SubjectAccessReview is allowed when
// allow says so. fail, when set, answers every review of that path with the status code instead
// (0 = none; -1 = never answer, like a black-holed connection).
type fakeAPI struct {
	srv       *httptest.Server
	tokens    map[string]string
	allow     func(spec authorizationv1.SubjectAccessReviewSpec) bool
	failAuthn atomic.Int32
	failAuthz atomic.Int32

	tokenReviews, accessReviews atomic.Int64
	mu                          sync.Mutex
	specs                       []authorizationv1.SubjectAccessReviewSpec
}

func newFakeAPI(tb testing.TB) *fakeAPI {
	tb.Helper()
	f := &fakeAPI{
		tokens: map[string]string{"good": "system:serviceaccount:monitoring:alertmanager"},
		allow:  func(authorizationv1.SubjectAccessReviewSpec) bool { return true },
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/apis/authentication.k8s.io/v1/tokenreviews":
		f.tokenReviews.Add(1)
		if f.failed(w, r, f.failAuthn.Load()) {
			return
		}
		var tr authenticationv1.TokenReview
		_ = json.NewDecoder(r.Body).Decode(&tr)
		if name, ok := f.tokens[tr.Spec.Token]; ok {
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true,
				User: authenticationv1.UserInfo{Username: name, Groups: []string{"system:serviceaccounts"}}}
		} else {
			tr.Status = authenticationv1.TokenReviewStatus{Error: "[invalid bearer token, token lookup failed]"}
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(tr)
	case "/apis/authorization.k8s.io/v1/subjectaccessreviews":
		f.accessReviews.Add(1)
		if f.failed(w, r, f.failAuthz.Load()) {
			return
		}
		var sar authorizationv1.SubjectAccessReview
		_ = json.NewDecoder(r.Body).Decode(&sar)
		f.mu.Lock()
		f.specs = append(f.specs, sar.Spec)
		f.mu.Unlock()
		sar.Status.Allowed = f.allow(sar.Spec)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(sar)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeAPI) failed(w http.ResponseWriter, r *http.Request, code int32) bool {
	switch {
	case code == 0:
		return false
	case code < 0:
		// Read the body first: only then does the server notice the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return true
	}
	status := apierrors.NewGenericServerResponse(int(code), http.MethodPost, schema.GroupResource{}, "", "injected", 0, true).ErrStatus
	status.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	w.WriteHeader(int(code))
	_ = json.NewEncoder(w).Encode(status)
	return true
}

func (f *fakeAPI) accessReviewSpecs() []authorizationv1.SubjectAccessReviewSpec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]authorizationv1.SubjectAccessReviewSpec(nil), f.specs...)
}

// testConfig is a Config against host with the gateway's transport and fast retries.
func testConfig(host string, m *metrics.Metrics) Config {
	// The gateway's default --kube-qps 0: no client-side limit.
	qps, burst := kubeclient.RateLimits(0, 0)
	cfg := &rest.Config{Host: host, QPS: qps, Burst: burst}
	cfg.Wrap(kuberetry.WrapTransport)
	return Config{
		REST: cfg, CallTimeout: time.Second, LookupTimeout: 3 * time.Second,
		Attempts: 3, InitialBackoff: time.Millisecond,
		AuthnCacheTTL: time.Minute, AllowCacheTTL: time.Minute, DenyCacheTTL: time.Minute,
		Metrics: m,
	}
}
