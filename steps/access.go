package steps

import (
	"context"
	"fmt"

	"github.com/cucumber/godog"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
)

func registerAccessSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the gateway's identity (may not|may) (\w+) (.+)$`, identityMay)
	sc.Step(`^every request the gateway made to the Kubernetes API used its own service account$`, usedOwnIdentity)
}

// resources maps the Gherkin's words to API resources: group, resource, subresource, namespaced.
var resources = map[string]struct {
	group, resource, sub string
	namespaced           bool
}{
	"remediation requests":       {"kubernaut.ai", "remediationrequests", "", true},
	"remediation request status": {"kubernaut.ai", "remediationrequests", "status", true},
	"secrets":                    {"", "secrets", "", true},
	"namespaces":                 {"", "namespaces", "", false},
	"events":                     {"", "events", "", true},
}

// identityMay asks the API server's authorizer, through a SubjectAccessReview, what the gateway's
// ServiceAccount (bound to gateway/config/rbac) may do.
func identityMay(ctx context.Context, may, verb, what string) error {
	st := state(ctx)
	if st.h.Identity == nil {
		return fmt.Errorf("the gateway's identity is unknown when it was deployed by someone else (E2E_GATEWAY_URL)")
	}
	r, ok := resources[what]
	if !ok {
		return fmt.Errorf("unknown resource %q: add it to steps/access.go", what)
	}
	attrs := &authorizationv1.ResourceAttributes{Verb: verb, Group: r.group, Resource: r.resource, Subresource: r.sub}
	if r.namespaced {
		attrs.Namespace = st.ns
	}
	id := st.h.Identity
	sar, err := st.h.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               id.Username(),
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + id.Namespace, "system:authenticated"},
			ResourceAttributes: attrs,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("asking whether %s may %s %s: %w", id.Username(), verb, what, err)
	}
	if want := may == "may"; sar.Status.Allowed != want {
		return fmt.Errorf("expected that %s %s %s %s, but the API server says allowed=%t (%s)", id.Username(), may, verb, what, sar.Status.Allowed, sar.Status.Reason)
	}
	return nil
}

// usedOwnIdentity checks, in the fault proxy's record, that each API request the gateway made for
// the scenario carried the gateway's ServiceAccount token and no other credential.
func usedOwnIdentity(ctx context.Context) error {
	st := state(ctx)
	p, err := st.proxy()
	if err != nil {
		return err
	}
	if st.h.Identity == nil {
		return fmt.Errorf("the gateway's identity is unknown")
	}
	want := faultproxy.CredentialID("Bearer " + st.h.Identity.Token)
	recs := p.Requests(st.ns)
	if len(recs) == 0 {
		return fmt.Errorf("the gateway made no request for namespace %s", st.ns)
	}
	for _, rec := range recs {
		if rec.Credential != want {
			return fmt.Errorf("the request %s carried credential %q, not the gateway's ServiceAccount token (%s)", rec, rec.Credential, want)
		}
	}
	return nil
}
