package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/kubernaut/gateway-contract/gateway/internal/auth"
)

// allowIn is a Guard that allows exactly its namespaces.
type allowIn []string

func (allowIn) Authenticate(context.Context, *http.Request) (user.Info, error) { return nil, nil }
func (allowIn) AuthorizeMetrics(context.Context, user.Info) error              { return nil }
func (a allowIn) AuthorizeSignals(_ context.Context, u user.Info, namespaces []string) error {
	var refused []string
	for _, ns := range namespaces {
		if !slices.Contains(a, ns) {
			refused = append(refused, ns)
		}
	}
	if len(refused) > 0 {
		return &auth.ForbiddenError{User: u.GetName(), Namespaces: refused}
	}
	return nil
}

// TestAuthorizeWritten: the namespace authorized is the namespace written. A refused namespace
// that does not exist sends its signal to the fallback namespace, where the sender is then
// authorized; one that exists stays refused; a failed existence check keeps the refusal.
func TestAuthorizeWritten(t *testing.T) {
	missing := map[string]bool{"gone": true}
	exists := func(_ context.Context, ns string) (bool, error) {
		if ns == "broken" {
			return false, errors.New("API down")
		}
		return missing[ns], nil
	}
	tests := []struct {
		name    string
		allowed allowIn
		asked   []string
		want    []string // the refused namespaces; nil: allowed
	}{
		{name: "allowed as named", allowed: allowIn{"team"}, asked: []string{"team"}},
		{name: "missing, allowed in the fallback", allowed: allowIn{"team", "fallback"}, asked: []string{"gone"}},
		{name: "missing, not allowed in the fallback", allowed: allowIn{"team"}, asked: []string{"gone"}, want: []string{"fallback"}},
		{name: "existing namespace stays refused", allowed: allowIn{"team", "fallback"}, asked: []string{"other"}, want: []string{"other"}},
		{name: "existing and missing: the existing one is named", allowed: allowIn{"fallback"}, asked: []string{"gone", "other"}, want: []string{"other"}},
		{name: "a failed check keeps the refusal", allowed: allowIn{"fallback"}, asked: []string{"broken"}, want: []string{"broken"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{opts: Options{Auth: tc.allowed, NamespaceMissing: exists, FallbackNamespace: "fallback"}}
			u := &user.DefaultInfo{Name: "sender"}
			err := s.authorizeWritten(context.Background(), u, tc.allowed.AuthorizeSignals(context.Background(), u, tc.asked))
			var forbidden *auth.ForbiddenError
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != nil && !errors.As(err, &forbidden):
				t.Fatalf("err = %v, want a refusal of %v", err, tc.want)
			case tc.want != nil && !slices.Equal(forbidden.Namespaces, tc.want):
				t.Fatalf("refused %v, want %v", forbidden.Namespaces, tc.want)
			}
		})
	}
}
