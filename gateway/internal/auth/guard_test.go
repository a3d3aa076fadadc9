package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

func TestReviewFailed(t *testing.T) {
	syntaxErr := json.Unmarshal([]byte("{"), &struct{}{})
	tests := []struct {
		name   string
		err    error
		failed bool
	}{
		{"status.error of a refused token", errors.New("[invalid bearer token, token lookup failed]"), false},
		{"bearer authenticator's own refusal", errors.New("invalid bearer token"), false},
		{"refusal in a union aggregate", utilerrors.NewAggregate([]error{errors.New("invalid bearer token")}), false},
		{"message mentioning a network failure is still a refusal",
			errors.New("[invalid bearer token, Post https://oidc: connection refused]"), false},
		{"503", apierrors.NewServiceUnavailable("down"), true},
		{"500", apierrors.NewInternalError(errors.New("x")), true},
		{"429", apierrors.NewTooManyRequests("slow", 1), true},
		{"403 for the gateway", apierrors.NewForbidden(schema.GroupResource{Resource: "tokenreviews"}, "", errors.New("rbac")), true},
		{"connection refused", &url.Error{Op: "Post", URL: "u", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, true},
		{"kuberetry transport error", &kuberetry.TransportError{Reason: kuberetry.ReasonEOF, Err: errors.New("EOF")}, true},
		{"deadline", context.DeadlineExceeded, true},
		{"webhook loop gave up", fmt.Errorf("webhook call failed: %s", context.DeadlineExceeded.Error()), true},
		{"garbled answer", syntaxErr, true},
		{"failure in an aggregate with a refusal", utilerrors.NewAggregate([]error{errors.New("invalid bearer token"),
			apierrors.NewServiceUnavailable("down")}), true},
		{"wrapped refusal is not plain", fmt.Errorf("x: %w", errors.New("y")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.failed, reviewFailed(tt.err))
		})
	}
}

func fakeAuthn(resp *authenticator.Response, ok bool, err error) authenticator.Request {
	return authenticator.RequestFunc(func(*http.Request) (*authenticator.Response, bool, error) { return resp, ok, err })
}

func alice() *authenticator.Response {
	return &authenticator.Response{User: &user.DefaultInfo{Name: "alice"}}
}

func TestAuthenticateOutcomes(t *testing.T) {
	tests := []struct {
		name          string
		header        string
		authn         authenticator.Request
		wantOutcome   string
		wantReason    string
		wantAvailable bool
	}{
		{"accepted", "Bearer t", fakeAuthn(alice(), true, nil), metrics.OutcomeAllowed, "", true},
		{"no header", "", fakeAuthn(alice(), true, nil), metrics.OutcomeUnauthenticated, ReasonMissingHeader, true},
		{"other scheme", "Basic YTpi", fakeAuthn(alice(), true, nil), metrics.OutcomeUnauthenticated, ReasonMalformedHeader, true},
		{"scheme alone", "Bearer", fakeAuthn(alice(), true, nil), metrics.OutcomeUnauthenticated, ReasonMalformedHeader, true},
		{"lower-case scheme", "bearer t", fakeAuthn(alice(), true, nil), metrics.OutcomeAllowed, "", true},
		{"refused with a message", "Bearer t", fakeAuthn(nil, false, errors.New("token has expired")), metrics.OutcomeUnauthenticated, ReasonTokenRefused, true},
		{"refused silently", "Bearer t", fakeAuthn(nil, false, nil), metrics.OutcomeUnauthenticated, ReasonTokenRefused, true},
		{"accepted without a name", "Bearer t", fakeAuthn(&authenticator.Response{User: &user.DefaultInfo{}}, true, nil), metrics.OutcomeUnauthenticated, ReasonTokenRefused, true},
		{"review failed", "Bearer t", fakeAuthn(nil, false, apierrors.NewServiceUnavailable("down")), metrics.OutcomeError, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New(nil)
			g := NewGuard(tt.authn, authorizerfactoryAllow(), m)
			r, _ := http.NewRequest(http.MethodPost, "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			u, err := g.Authenticate(context.Background(), r)
			assert.Equal(t, 1.0, testutil.ToFloat64(m.AuthDecisions.WithLabelValues(metrics.StageAuthentication, tt.wantOutcome)))
			switch {
			case tt.wantOutcome == metrics.OutcomeAllowed:
				require.NoError(t, err)
				assert.Equal(t, "alice", u.GetName())
			case !tt.wantAvailable:
				var unavailable *UnavailableError
				require.ErrorAs(t, err, &unavailable)
				assert.NotErrorIs(t, err, ErrUnauthenticated)
			default:
				var unauth *UnauthenticatedError
				require.ErrorAs(t, err, &unauth)
				assert.Equal(t, tt.wantReason, unauth.Reason)
			}
		})
	}
}

// An authenticator failing on the caller's expired context is unavailable, whatever its error.
func TestAuthenticateContextEnded(t *testing.T) {
	g := NewGuard(fakeAuthn(nil, false, errors.New("plain")), authorizerfactoryAllow(), metrics.New(nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "Bearer t")
	_, err := g.Authenticate(ctx, r)
	var unavailable *UnavailableError
	require.ErrorAs(t, err, &unavailable)
}

func authorizerfactoryAllow() authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
		return authorizer.DecisionAllow, "", nil
	})
}

// script answers per namespace: "allow", "deny" (DecisionDeny), "none" (DecisionNoOpinion), "fail".
func script(answers map[string]string, asked *[]string) authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		*asked = append(*asked, a.GetNamespace())
		switch answers[a.GetNamespace()] {
		case "allow":
			return authorizer.DecisionAllow, "", nil
		case "deny":
			return authorizer.DecisionDeny, "denied", nil
		case "fail":
			return authorizer.DecisionNoOpinion, "", apierrors.NewServiceUnavailable("down")
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

func TestAuthorizeSignals(t *testing.T) {
	tests := []struct {
		name       string
		answers    map[string]string
		namespaces []string
		wantAsked  []string
		wantRefuse []string
		wantFail   bool
	}{
		{"all allowed", map[string]string{"a": "allow", "b": "allow"}, []string{"b", "a", "b"}, []string{"a", "b"}, nil, false},
		{"nothing to write", nil, nil, nil, nil, false},
		{"no opinion and deny both refuse", map[string]string{"a": "none", "b": "deny", "c": "allow"},
			[]string{"c", "b", "a"}, []string{"a", "b", "c"}, []string{"a", "b"}, false},
		{"a failure ends the check", map[string]string{"a": "fail", "b": "none"}, []string{"a", "b"}, []string{"a"}, nil, true},
		{"a refusal before a failure still refuses", map[string]string{"a": "none", "b": "fail", "c": "none"},
			[]string{"a", "b", "c"}, []string{"a", "b"}, []string{"a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked []string
			g := NewGuard(fakeAuthn(alice(), true, nil), script(tt.answers, &asked), metrics.New(nil))
			err := g.AuthorizeSignals(context.Background(), alice().User, tt.namespaces)
			assert.Equal(t, tt.wantAsked, asked)
			var forbidden *ForbiddenError
			var unavailable *UnavailableError
			switch {
			case tt.wantRefuse != nil:
				require.ErrorAs(t, err, &forbidden)
				assert.Equal(t, tt.wantRefuse, forbidden.Namespaces)
				assert.Equal(t, "alice", forbidden.User)
			case tt.wantFail:
				require.ErrorAs(t, err, &unavailable)
				assert.Equal(t, "SubjectAccessReview", unavailable.Review())
			default:
				require.NoError(t, err)
			}
		})
	}
}

func TestAuthorizeMetricsAsksForTheNonResourcePath(t *testing.T) {
	var got authorizer.Attributes
	g := NewGuard(nil, authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		got = a
		return authorizer.DecisionNoOpinion, "", nil
	}), metrics.New(nil))
	err := g.AuthorizeMetrics(context.Background(), alice().User)
	var forbidden *ForbiddenError
	require.ErrorAs(t, err, &forbidden)
	assert.Equal(t, "the sender may not get /metrics", err.Error())
	assert.False(t, got.IsResourceRequest())
	assert.Equal(t, "/metrics", got.GetPath())
	assert.Equal(t, "get", got.GetVerb())
}

// The derived hit count never runs ahead of the review responses, and stays monotonic.
func TestHitTracker(t *testing.T) {
	m := metrics.New(nil)
	c := m.AuthCacheHits.WithLabelValues(metrics.StageAuthorization)
	var h hitTracker
	h.responses.Add(1)
	h.lookedUp(c) // a miss: its response was counted first
	assert.Zero(t, testutil.ToFloat64(c))
	h.lookedUp(c)
	h.lookedUp(c)
	assert.Equal(t, 2.0, testutil.ToFloat64(c))
	h.responses.Add(1) // a response whose lookup has not returned yet
	h.lookedUp(c)      // a hit, hidden for now by that response
	assert.Equal(t, 2.0, testutil.ToFloat64(c))
	h.lookedUp(c) // the pending lookup returns
	assert.Equal(t, 3.0, testutil.ToFloat64(c))
}
