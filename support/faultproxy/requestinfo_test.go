package faultproxy

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRequestInfo(t *testing.T) {
	const rrs = "/apis/kubernaut.ai/v1alpha1/namespaces/ns1/remediationrequests"
	tests := []struct {
		method, target string
		want           RequestInfo
	}{
		{"GET", "/healthz", RequestInfo{Verb: "get"}},
		{"GET", "/version", RequestInfo{Verb: "get"}},
		{"GET", "/api", RequestInfo{Verb: "get"}},
		{"GET", "/api/v1", RequestInfo{Verb: "get"}},
		{"GET", "/apis", RequestInfo{Verb: "get"}},
		{"GET", "/apis/kubernaut.ai/v1alpha1", RequestInfo{Verb: "get"}},
		{"GET", "/openapi/v3", RequestInfo{Verb: "get"}},
		{"GET", "/api/v1/namespaces", RequestInfo{true, "list", "", "v1", "", "namespaces", "", "", ""}},
		{"GET", "/api/v1/namespaces/ns1", RequestInfo{true, "get", "", "v1", "ns1", "namespaces", "", "ns1", ""}},
		{"PUT", "/api/v1/namespaces/ns1/finalize", RequestInfo{true, "update", "", "v1", "ns1", "namespaces", "finalize", "ns1", ""}},
		{"PUT", "/api/v1/namespaces/ns1/status", RequestInfo{true, "update", "", "v1", "ns1", "namespaces", "status", "ns1", ""}},
		{"DELETE", "/api/v1/namespaces/ns1", RequestInfo{true, "delete", "", "v1", "ns1", "namespaces", "", "ns1", ""}},
		{"GET", "/api/v1/namespaces/ns1/events", RequestInfo{true, "list", "", "v1", "ns1", "events", "", "", ""}},
		{"POST", "/api/v1/namespaces/ns1/events", RequestInfo{true, "create", "", "v1", "ns1", "events", "", "", ""}},
		{"GET", "/api/v1/events", RequestInfo{true, "list", "", "v1", "", "events", "", "", ""}},
		{"GET", "/api/v1/nodes/n1", RequestInfo{true, "get", "", "v1", "", "nodes", "", "n1", ""}},
		{"GET", rrs, RequestInfo{true, "list", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "", ""}},
		{"GET", rrs + "?fieldSelector=spec.signalFingerprint%3Dabc", RequestInfo{true, "list", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "", ""}},
		{"GET", rrs + "?fieldSelector=metadata.name%3Drr-1", RequestInfo{true, "list", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "rr-1", ""}},
		{"GET", rrs + "?watch=true", RequestInfo{true, "watch", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "", ""}},
		{"GET", rrs + "?watch=1&fieldSelector=a%3Db,metadata.name%3D%3Drr-2", RequestInfo{true, "watch", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "rr-2", ""}},
		{"GET", rrs + "?watch=false", RequestInfo{true, "list", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "", ""}},
		{"GET", "/apis/kubernaut.ai/v1alpha1/watch/namespaces/ns1/remediationrequests", RequestInfo{true, "watch", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "", ""}},
		{"GET", "/apis/kubernaut.ai/v1alpha1/watch/namespaces/ns1/remediationrequests/rr-1", RequestInfo{true, "watch", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "rr-1", ""}},
		{"GET", "/apis/kubernaut.ai/v1alpha1/remediationrequests", RequestInfo{true, "list", "kubernaut.ai", "v1alpha1", "", "remediationrequests", "", "", ""}},
		{"POST", rrs, RequestInfo{true, "create", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "", ""}},
		{"GET", rrs + "/rr-1", RequestInfo{true, "get", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "rr-1", ""}},
		{"HEAD", rrs + "/rr-1", RequestInfo{true, "get", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "rr-1", ""}},
		{"PUT", rrs + "/rr-1", RequestInfo{true, "update", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "rr-1", ""}},
		{"PUT", rrs + "/rr-1/status", RequestInfo{true, "update", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "status", "rr-1", ""}},
		{"GET", rrs + "/rr-1/status", RequestInfo{true, "get", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "status", "rr-1", ""}},
		{"PATCH", rrs + "/rr-1", RequestInfo{true, "patch", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "rr-1", ""}},
		{"DELETE", rrs + "/rr-1", RequestInfo{true, "delete", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "rr-1", ""}},
		{"DELETE", rrs, RequestInfo{true, "deletecollection", "kubernaut.ai", "v1alpha1", "ns1", "remediationrequests", "", "", ""}},
		{"POST", "/api/v1/namespaces/ns1/pods/p1/eviction", RequestInfo{true, "create", "", "v1", "ns1", "pods", "eviction", "p1", ""}},
		{"GET", "/api/v1/watch/namespaces", RequestInfo{true, "watch", "", "v1", "", "namespaces", "", "", ""}},
		{"GET", "/api/v1/watch", RequestInfo{Verb: "watch", Version: "v1"}},
		{"GET", "/api//v1/namespaces/ns1/events/", RequestInfo{true, "list", "", "v1", "ns1", "events", "", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			u, err := url.Parse(tt.target)
			require.NoError(t, err)
			got := ParseRequestInfo(tt.method, u)
			tt.want.Path = u.Path
			assert.Equal(t, tt.want, got)
		})
	}
}
