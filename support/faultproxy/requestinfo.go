package faultproxy

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Kubernetes API verbs, as RBAC and the apiserver's RequestInfo name them. Rules match on these
// rather than on HTTP methods because a GET is a get, a list or a watch depending on the path.
const (
	VerbGet              = "get"
	VerbList             = "list"
	VerbWatch            = "watch"
	VerbCreate           = "create"
	VerbUpdate           = "update"
	VerbPatch            = "patch"
	VerbDelete           = "delete"
	VerbDeleteCollection = "deletecollection"
)

// RequestInfo classifies one API request the way kube-apiserver's RequestInfoFactory does, so a
// rule can say "the status update of a RemediationRequest in namespace X" instead of a path
// pattern. k8s.io/apiserver is not a dependency of this module, hence the hand-written parser.
type RequestInfo struct {
	// IsResourceRequest is false for discovery, /healthz, /version, /openapi and the like; their
	// Verb is the lowercased HTTP method.
	IsResourceRequest bool
	Verb              string
	Group             string
	Version           string
	Namespace         string
	Resource          string
	Subresource       string
	Name              string
	Path              string
}

// namespaceSubresources are the subresources of a namespace itself (/api/v1/namespaces/x/status),
// as opposed to the namespaced resources under it.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// ParseRequestInfo classifies a request by method and URL.
func ParseRequestInfo(method string, u *url.URL) RequestInfo {
	info := RequestInfo{Path: u.Path, Verb: strings.ToLower(method)}
	parts := splitPath(u.Path)
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		info.Version, parts = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		info.Group, info.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return info // discovery or a non-resource path
	}
	info.IsResourceRequest = true
	switch method {
	case http.MethodPost:
		info.Verb = VerbCreate
	case http.MethodGet, http.MethodHead:
		info.Verb = VerbGet
	case http.MethodPut:
		info.Verb = VerbUpdate
	case http.MethodPatch:
		info.Verb = VerbPatch
	case http.MethodDelete:
		info.Verb = VerbDelete
	}
	if parts[0] == "watch" {
		parts = parts[1:]
		if info.Verb == VerbGet {
			info.Verb = VerbWatch
		}
		if len(parts) == 0 {
			info.IsResourceRequest = false
			return info
		}
	}
	if parts[0] == "namespaces" && len(parts) > 1 {
		info.Namespace = parts[1]
		// /namespaces/x/pods/... is a namespaced resource; /namespaces/x and
		// /namespaces/x/status are the namespace object itself.
		if len(parts) > 2 && !namespaceSubresources[parts[2]] {
			parts = parts[2:]
		}
	}
	info.Resource = parts[0]
	if len(parts) > 1 {
		info.Name = parts[1]
	}
	if len(parts) > 2 {
		info.Subresource = parts[2]
	}
	q := u.Query()
	if info.Name == "" && info.Verb == VerbGet {
		info.Verb = VerbList
		if watch, err := strconv.ParseBool(q.Get("watch")); err == nil && watch {
			info.Verb = VerbWatch
		}
		info.Name = nameFromFieldSelector(q.Get("fieldSelector"))
	}
	if info.Name == "" && info.Verb == VerbDelete {
		info.Verb = VerbDeleteCollection
	}
	return info
}

// splitPath drops empty segments, so "//api/v1/x/" classifies like "/api/v1/x".
func splitPath(p string) []string {
	return strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
}

// nameFromFieldSelector mirrors the apiserver: a list or watch narrowed to one metadata.name is
// about that object, so rules on Name match informers and waits for it.
func nameFromFieldSelector(sel string) string {
	for _, term := range strings.Split(sel, ",") {
		for _, op := range []string{"==", "="} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(term), "metadata.name"+op); ok {
				return v
			}
		}
	}
	return ""
}
