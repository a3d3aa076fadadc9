package steps

import (
	"context"
	"fmt"
	"os"
	"sort"

	"github.com/cucumber/godog"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kubernaut/gateway-contract/support/faultproxy"
	"github.com/kubernaut/gateway-contract/support/repo"
)

func registerAccessSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the gateway's identity (may not|may) (\w+) (.+)$`, identityMay)
	sc.Step(`^every request the gateway made to the Kubernetes API used its own service account$`, usedOwnIdentity)
	sc.Step(`^(the gateway's identity|a sender bound in this namespace) holds exactly the resource permissions of gateway/config/rbac/(role|sender_role)\.yaml$`, exactlyTheManifest)
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
	"token reviews":              {"authentication.k8s.io", "tokenreviews", "", false},
	"access reviews":             {"authorization.k8s.io", "subjectaccessreviews", "", false},
}

// identityMay asks the API server's authorizer, through a SubjectAccessReview, what the gateway's
// ServiceAccount (bound to gateway/config/rbac) may do.
func identityMay(ctx context.Context, may, verb, what string) error {
	st := state(ctx)
	r, ok := resources[what]
	if !ok {
		return fmt.Errorf("unknown resource %q: add it to steps/access.go", what)
	}
	attrs := &authorizationv1.ResourceAttributes{Verb: verb, Group: r.group, Resource: r.resource, Subresource: r.sub}
	if r.namespaced {
		attrs.Namespace = st.ns
	}
	id := st.run.GatewayIdentity()
	sar, err := st.kube().AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
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
	tokens, err := st.gw.Credentials()
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, t := range tokens {
		want[faultproxy.CredentialID("Bearer "+t)] = true
	}
	recs := p.Requests(st.ns)
	if len(recs) == 0 {
		return fmt.Errorf("the gateway made no request for namespace %s", st.ns)
	}
	for _, rec := range recs {
		if !want[rec.Credential] {
			return fmt.Errorf("the request %s carried credential %q, not a ServiceAccount token the gateway was given (%v)", rec, rec.Credential, want)
		}
	}
	return nil
}

// selfReviews are the rights every authenticated user gets to ask about itself; they are not a
// manifest's to grant, so the comparison leaves them out.
var selfReviews = map[string]bool{
	"authorization.k8s.io/selfsubjectaccessreviews:create": true,
	"authorization.k8s.io/selfsubjectrulesreviews:create":  true,
	"authentication.k8s.io/selfsubjectreviews:create":      true,
}

// exactlyTheManifest asks the API server, as the identity itself (SelfSubjectRulesReview with
// its own token), which resource permissions it holds in the scenario's namespace, and compares
// them with the manifest both ways: nothing missing, nothing extra. The gateway's identity is
// bound cluster-wide to role.yaml; a sender is made here and bound in this namespace only to the
// shipped sender_role.yaml, as the README tells a team to bind its Alertmanager.
func exactlyTheManifest(ctx context.Context, who, manifest string) error {
	st := state(ctx)
	want, err := manifestPermissions(manifest)
	if err != nil {
		return err
	}
	token, err := st.tokenOf(ctx, who)
	if err != nil {
		return err
	}
	got, err := st.heldPermissions(ctx, who, token)
	if err != nil {
		return err
	}
	missing, extra := differences(want, got)
	if len(missing)+len(extra) > 0 || len(want) == 0 {
		return fmt.Errorf("the permissions of %s differ from %s: missing %v, extra %v", who, manifest+".yaml", missing, extra)
	}
	return nil
}

// manifestPermissions reads gateway/config/rbac/<manifest>.yaml as "group/resource:verb" keys.
func manifestPermissions(manifest string) (map[string]bool, error) {
	path, err := repo.Path("gateway", "config", "rbac", manifest+".yaml")
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the RBAC manifest: %w", err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	want := map[string]bool{}
	for _, r := range role.Rules {
		addPermissions(want, r.APIGroups, r.Resources, r.Verbs)
	}
	return want, nil
}

// tokenOf is the token of the identity the Gherkin names: the gateway's, or a sender made here
// and bound in the scenario's namespace only.
func (st *scenario) tokenOf(ctx context.Context, who string) (string, error) {
	if who == "the gateway's identity" {
		token := st.run.GatewayIdentity().Token
		if token == "" {
			return "", fmt.Errorf("asking what the gateway may do needs its token, which the suite holds only for a gateway it launched")
		}
		return token, nil
	}
	s, err := st.newSender(ctx, "rules-sender")
	if err != nil {
		return "", err
	}
	if err := st.bind(ctx, s, st.ns); err != nil {
		return "", err
	}
	return s.token, nil
}

// heldPermissions asks the API server, as the holder of token, which resource permissions it has
// in the scenario's namespace, leaving out the self reviews everyone has.
func (st *scenario) heldPermissions(ctx context.Context, who, token string) (map[string]bool, error) {
	cs, err := kubernetes.NewForConfig(st.run.AsToken(token))
	if err != nil {
		return nil, err
	}
	review, err := cs.AuthorizationV1().SelfSubjectRulesReviews().Create(ctx, &authorizationv1.SelfSubjectRulesReview{
		Spec: authorizationv1.SelfSubjectRulesReviewSpec{Namespace: st.ns},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("asking the API server what %s may do: %w", who, err)
	}
	got := map[string]bool{}
	for _, r := range review.Status.ResourceRules {
		addPermissions(got, r.APIGroups, r.Resources, r.Verbs)
	}
	for k := range selfReviews {
		delete(got, k)
	}
	return got, nil
}

// addPermissions adds every "group/resource:verb" of one rule to set.
func addPermissions(set map[string]bool, groups, resources, verbs []string) {
	for _, g := range groups {
		for _, res := range resources {
			for _, v := range verbs {
				set[g+"/"+res+":"+v] = true
			}
		}
	}
}

// differences lists, sorted, the keys of want missing from got and the keys of got not in want.
func differences(want, got map[string]bool) (missing, extra []string) {
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return missing, extra
}
