package auth

import (
	"errors"
	"reflect"
	"strings"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
)

// plainErrorType is the type of errors.New's errors (and of fmt.Errorf's without %w).
var plainErrorType = reflect.TypeOf(errors.New(""))

// Messages of plain errors that k8s.io/apiserver makes for a failed lookup rather than a refused
// token: its webhook retry loop giving up before the first call ("webhook call failed: ...").
var failureMessages = []string{"webhook call failed"}

// reviewFailed tells a TokenReview that could not be made from a token that was refused, both of
// which k8s.io/apiserver returns as (nil, false, err), possibly inside a union's Aggregate.
//
// A refusal is always a plain message built with errors.New: the TokenReview's status.error as
// the API server wrote it ("token has expired", "invalid bearer token"), or the bearer-token
// authenticator's own "invalid bearer token". A failed review always carries a type from the layer
// that failed: *errors.StatusError for an HTTP error status (5xx, 429, and 401/403 when the
// gateway's own credentials or RBAC are wrong), *url.Error, net.Error or a kuberetry transport
// error for the connection, context errors for timeouts, a decoding error for a garbled answer.
// So: the error is a refusal exactly when every error in it is plain and none is one of
// failureMessages. Anything unexpected counts as a failure, which answers 503 (retry) rather than
// 401: a sender is never told its token is bad because the gateway could not check it.
func reviewFailed(err error) bool {
	if agg, ok := err.(utilerrors.Aggregate); ok {
		for _, e := range agg.Errors() {
			if reviewFailed(e) {
				return true
			}
		}
		return len(agg.Errors()) == 0
	}
	if reflect.TypeOf(err) != plainErrorType {
		return true
	}
	msg := err.Error()
	for _, m := range failureMessages {
		if strings.HasPrefix(msg, m) {
			return true
		}
	}
	return false
}
