package server_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
)

// everywhere, as a namespace of fakeIdentity.grant, allows every namespace and /metrics.
const everywhere = "*"

// fakeIdentity stands in for TokenReview and SubjectAccessReview: tokens name users, grants say
// where each user may create RemediationRequests (or get /metrics, as the namespace "/metrics").
// It answers like k8s.io/apiserver's delegating authenticator and authorizer: a refused token is a
// plain error, a refused permission is DecisionNoOpinion with no error, and authnErr or authzErr
// (typed errors, as a failed review gives) make every review fail.
type fakeIdentity struct {
	mu                 sync.Mutex
	users              map[string]string
	grants             map[string]map[string]bool
	authnErr, authzErr error
	// asked records the namespaces (or paths) of every authorization question.
	asked []string
}

func newFakeIdentity() *fakeIdentity {
	f := &fakeIdentity{users: map[string]string{}, grants: map[string]map[string]bool{}}
	f.addUser(senderToken, senderName, everywhere)
	return f
}

func (f *fakeIdentity) addUser(token, name string, namespaces ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[token] = name
	f.grants[name] = map[string]bool{}
	for _, ns := range namespaces {
		f.grants[name][ns] = true
	}
}

func (f *fakeIdentity) failReviews(authnErr, authzErr error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authnErr, f.authzErr = authnErr, authzErr
}

func (f *fakeIdentity) authenticator() authenticator.Request {
	return authenticator.RequestFunc(func(r *http.Request) (*authenticator.Response, bool, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return nil, false, nil
		}
		if f.authnErr != nil {
			return nil, false, f.authnErr
		}
		name, ok := f.users[token]
		if !ok {
			return nil, false, errors.New("invalid bearer token")
		}
		return &authenticator.Response{User: &user.DefaultInfo{Name: name, Groups: []string{user.AllAuthenticated}}}, true, nil
	})
}

func (f *fakeIdentity) authorizer() authorizer.Authorizer {
	return authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		where := a.GetNamespace()
		if !a.IsResourceRequest() {
			where = a.GetPath()
		}
		f.asked = append(f.asked, where)
		if f.authzErr != nil {
			return authorizer.DecisionNoOpinion, "", f.authzErr
		}
		grants := f.grants[a.GetUser().GetName()]
		resourceOK := !a.IsResourceRequest() ||
			a.GetVerb() == "create" && a.GetAPIGroup() == "kubernaut.ai" && a.GetResource() == "remediationrequests"
		pathOK := a.IsResourceRequest() || a.GetVerb() == "get"
		if resourceOK && pathOK && (grants[everywhere] || grants[where]) {
			return authorizer.DecisionAllow, "", nil
		}
		return authorizer.DecisionNoOpinion, "", nil
	})
}

func (f *fakeIdentity) askedAbout() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}
