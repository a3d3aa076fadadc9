package kuberetry_test

import (
	"strconv"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

func schemaGR() schema.GroupResource { return v1alpha1.Resource(v1alpha1.ResourcePlural) }

func schemaGK() schema.GroupKind { return v1alpha1.GroupVersion.WithKind(v1alpha1.Kind).GroupKind() }

func mustAtoi(t interface{ Fatalf(string, ...any) }, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
