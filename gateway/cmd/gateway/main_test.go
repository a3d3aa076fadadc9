package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/config"
	"github.com/kubernaut/gateway-contract/gateway/internal/logging"
)

func TestHelpAndBadFlags(t *testing.T) {
	assert.Equal(t, 0, run([]string{"--help"}))
	assert.Equal(t, 2, run([]string{"--retry-attempts=0"}))
}

// senderToken is the one token fakeAPI's TokenReview accepts, as senderName.
const (
	senderToken = "sender-token"
	senderName  = "system:serviceaccount:monitoring:alertmanager"
)

// fakeAPI is just enough of an API server for one RemediationRequest: discovery, list and watch
// (for the cache; a watch stays open and silent, and watch-list requests are refused, as an older
// API server would, so the informer lists), create, get and status update, plus TokenReview
// (senderToken only) and SubjectAccessReview (everything allowed). Creates are slow, to keep a
// request in flight during shutdown. It records every RemediationRequest request.
type fakeAPI struct {
	mu          sync.Mutex
	objects     map[string]*v1alpha1.RemediationRequest
	rv          int
	createDelay time.Duration
	requests    []string
	// done ends open watches when the test ends.
	done chan struct{}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	base := "/apis/kubernaut.ai/v1alpha1"
	w.Header().Set("Content-Type", "application/json")
	path := strings.TrimPrefix(r.URL.Path, base)
	if strings.Contains(path, "/remediationrequests") {
		f.mu.Lock()
		req := r.Method + " " + path
		if r.URL.Query().Get("watch") != "" {
			req = "WATCH " + path
		}
		f.requests = append(f.requests, req)
		f.mu.Unlock()
	}
	switch {
	case r.URL.Path == "/apis/authentication.k8s.io/v1/tokenreviews":
		var tr authenticationv1.TokenReview
		_ = json.NewDecoder(r.Body).Decode(&tr)
		if tr.Spec.Token == senderToken {
			tr.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: senderName}}
		} else {
			tr.Status = authenticationv1.TokenReviewStatus{Error: "invalid bearer token"}
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(tr)
	case r.URL.Path == "/apis/authorization.k8s.io/v1/subjectaccessreviews":
		var sar authorizationv1.SubjectAccessReview
		_ = json.NewDecoder(r.Body).Decode(&sar)
		sar.Status.Allowed = true
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(sar)
	case r.URL.Path == base:
		_ = json.NewEncoder(w).Encode(metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: v1alpha1.GroupVersion.String(),
			APIResources: []metav1.APIResource{{Name: "remediationrequests", Namespaced: true, Kind: v1alpha1.Kind}},
		})
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/remediationrequests") && r.URL.Query().Get("sendInitialEvents") != "":
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
			Status: metav1.StatusFailure, Code: http.StatusBadRequest, Reason: metav1.StatusReasonBadRequest, Message: "no watch-list here"})
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/remediationrequests") && r.URL.Query().Get("watch") != "":
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-f.done:
		}
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/remediationrequests"):
		f.mu.Lock()
		list := v1alpha1.RemediationRequestList{TypeMeta: metav1.TypeMeta{Kind: "RemediationRequestList", APIVersion: v1alpha1.GroupVersion.String()}}
		list.ResourceVersion = fmt.Sprint(f.rv + 1)
		for _, o := range f.objects {
			list.Items = append(list.Items, *o)
		}
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(list)
	case r.Method == http.MethodPost:
		time.Sleep(f.createDelay)
		f.store(w, r, http.StatusCreated)
	case r.Method == http.MethodGet:
		f.mu.Lock()
		rr := f.objects[filepath.Base(path)]
		f.mu.Unlock()
		_ = json.NewEncoder(w).Encode(rr)
	case r.Method == http.MethodPut && strings.HasSuffix(path, "/status"):
		f.store(w, r, http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

// store saves the posted object with a new resourceVersion and echoes it, as a create or a status
// update does (a status update keeps the stored spec, as the API server does).
func (f *fakeAPI) store(w http.ResponseWriter, r *http.Request, code int) {
	var rr v1alpha1.RemediationRequest
	_ = json.NewDecoder(r.Body).Decode(&rr)
	f.mu.Lock()
	f.rv++
	rr.ResourceVersion = fmt.Sprint(f.rv + 1)
	if old, ok := f.objects[rr.Name]; ok && code == http.StatusOK {
		updated := old.DeepCopy()
		updated.Status, updated.ResourceVersion = rr.Status, rr.ResourceVersion
		rr = *updated
	}
	f.objects[rr.Name] = &rr
	f.mu.Unlock()
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(rr)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeAndGracefulShutdown runs the real wiring against a fake API server: the listening line,
// readiness, one signal, and a SIGTERM that fails readiness but lets the in-flight request finish.
func TestServeAndGracefulShutdown(t *testing.T) {
	api := &fakeAPI{objects: map[string]*v1alpha1.RemediationRequest{}, createDelay: 600 * time.Millisecond, done: make(chan struct{})}
	apiSrv := httptest.NewServer(api)
	defer apiSrv.Close()
	defer close(api.done) // first: ends the open watch, which Close would wait for
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, apiSrv.URL)), 0o600))

	cfg, err := config.Parse("gateway", []string{"--listen=127.0.0.1:0", "--kubeconfig=" + kubeconfig, "--shutdown-delay=300ms"},
		func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(cfg, logging.New(logs, cfg.LogLevel)) }()

	var addr string
	listening := regexp.MustCompile(`"msg":"listening","addr":"(127\.0\.0\.1:\d+)","scheme":"http"`)
	require.Eventually(t, func() bool {
		m := listening.FindStringSubmatch(logs.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	}, 10*time.Second, 10*time.Millisecond, logs.String())
	base := "http://" + addr
	assert.Contains(t, logs.String(), `"level":"WARN","msg":"serving plain HTTP: bearer tokens cross the network in clear; give --tls-cert-file and --tls-private-key-file"`)

	// Ready once the cache of RemediationRequests has synced.
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 10*time.Millisecond)

	body, err := os.ReadFile("../../../testdata/alertmanager/single-node-target.json")
	require.NoError(t, err)
	inflight := make(chan int, 1)
	post := func(token string) (*http.Response, error) {
		req, err := http.NewRequest(http.MethodPost, base+"/api/v1/signals/prometheus", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		return http.DefaultClient.Do(req)
	}
	resp, err := post("forged")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the wiring authenticates")
	go func() {
		resp, err := post(senderToken)
		if err != nil {
			inflight <- -1
			return
		}
		resp.Body.Close()
		inflight <- resp.StatusCode
	}()
	time.Sleep(150 * time.Millisecond) // the request is now waiting on the slow create
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))

	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}, 2*time.Second, 20*time.Millisecond, "readyz fails as soon as shutdown starts")

	assert.Equal(t, http.StatusCreated, <-inflight, "the in-flight request finished")
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after SIGTERM")
	}
	var rr *v1alpha1.RemediationRequest
	for _, o := range api.objects {
		rr = o
	}
	require.NotNil(t, rr)
	assert.EqualValues(t, 1, rr.Status.Deduplication.OccurrenceCount)
	assert.Equal(t, senderName, rr.Annotations[v1alpha1.AnnotationSender])
	assert.NotEmpty(t, rr.Spec.OriginalPayload, "the status update kept the spec")
	// The cache listed and watched cluster-wide before the gateway was ready; the signal itself
	// cost a create and a status update, no lookup.
	var signal []string
	for _, req := range api.requests {
		switch {
		case req == "GET /remediationrequests", req == "WATCH /remediationrequests":
		default:
			signal = append(signal, req)
		}
	}
	ns := rr.Namespace
	assert.Equal(t, []string{
		"POST /namespaces/" + ns + "/remediationrequests",
		"PUT /namespaces/" + ns + "/remediationrequests/" + rr.Name + "/status",
	}, signal)
	assert.Contains(t, api.requests, "GET /remediationrequests")
	assert.Contains(t, api.requests, "WATCH /remediationrequests")
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &v), "every log line is JSON: %s", line)
	}
}
