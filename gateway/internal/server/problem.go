package server

import (
	"encoding/json"
	"net/http"
)

// Problem type slugs (https://kubernaut.ai/problems/<slug>), fixed by docs/design.md.
const (
	SlugInvalidPayload        = "invalid-payload"
	SlugPayloadTooLarge       = "payload-too-large"
	SlugUnsupportedMediaType  = "unsupported-media-type"
	SlugMethodNotAllowed      = "method-not-allowed"
	SlugKubernetesUnavailable = "kubernetes-unavailable"
	SlugKubernetesError       = "kubernetes-error"
	SlugNotFound              = "not-found"
	// SlugUnauthenticated (401, with WWW-Authenticate: Bearer): no valid bearer token.
	SlugUnauthenticated = "unauthenticated"
	// SlugForbidden (403): the sender may not create RemediationRequests in a namespace the request
	// writes to, or may not read /metrics.
	SlugForbidden = "forbidden"
	// SlugAuthUnavailable (503, with Retry-After): the TokenReview or SubjectAccessReview could
	// not be made, so the caller could not be checked.
	SlugAuthUnavailable = "auth-unavailable"
	// SlugOverloaded (503, with Retry-After): MaxInFlight signal requests were already being
	// processed; this one was not looked at (not even authenticated).
	SlugOverloaded = "overloaded"
)

const problemTypeBase = "https://kubernaut.ai/problems/"

var problemTitles = map[string]string{
	SlugInvalidPayload:        "Invalid payload",
	SlugPayloadTooLarge:       "Payload too large",
	SlugUnsupportedMediaType:  "Unsupported media type",
	SlugMethodNotAllowed:      "Method not allowed",
	SlugKubernetesUnavailable: "Kubernetes API unavailable",
	SlugKubernetesError:       "Kubernetes API error",
	SlugNotFound:              "Not found",
	SlugUnauthenticated:       "Unauthenticated",
	SlugForbidden:             "Forbidden",
	SlugAuthUnavailable:       "Authentication or authorization unavailable",
	SlugOverloaded:            "Overloaded",
}

// Problem is an RFC 7807 problem details document, extended with the request ID.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance"`
	RequestID string `json:"requestId"`
}

// writeProblem answers with application/problem+json. Headers the caller set (Allow, Retry-After)
// are kept.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, slug, detail string) {
	p := Problem{
		Type:      problemTypeBase + slug,
		Title:     problemTitles[slug],
		Status:    status,
		Detail:    detail,
		Instance:  r.URL.Path,
		RequestID: requestIDFrom(r.Context()),
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
