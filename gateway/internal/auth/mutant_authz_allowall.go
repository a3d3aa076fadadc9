//go:build mutant_authz_allowall

package auth

import (
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
)

// This file exists only in binaries built with -tags mutant_authz_allowall: the contract suite's
// proof that its authorization scenarios can fail. Such a gateway still authenticates every caller
// but allows every authenticated caller everything.
func init() {
	Mutation = "mutant_authz_allowall: every authenticated caller is allowed everything"
	newAuthorizer = func(authorizerfactory.DelegatingAuthorizerConfig) (authorizer.Authorizer, error) {
		return authorizerfactory.NewAlwaysAllowAuthorizer(), nil
	}
}
