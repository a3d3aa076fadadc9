package steps

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Steps about who may send: every scenario sends with a real ServiceAccount token (the suite's
// default sender, bound cluster-wide to the shipped ClusterRole kubernaut-signal-sender) unless
// it makes a sender of its own here. Senders are real ServiceAccounts in the scenario's
// namespace, with real tokens from the TokenRequest API and real RoleBindings: nothing is faked
// and no check is turned off.
func registerSecuritySteps(sc *godog.ScenarioContext) {
	sc.Step(`^the sender presents (no token|a token that is not a token at all|a malformed Authorization header|the token of a ServiceAccount that has since been deleted)$`, presents)
	sc.Step(`^a sender with no permission anywhere$`, senderWithoutBinding)
	sc.Step(`^a sender allowed to raise signals only in this namespace$`, senderInThisNamespace)
	sc.Step(`^another sender allowed to raise signals only in this namespace$`, anotherSenderInThisNamespace)
	sc.Step(`^the sender's permission in this namespace is revoked$`, revoke)
	sc.Step(`^Alertmanager sends a batch of firing alerts, one for this namespace and one for the second namespace$`, sendSpanningBatch)
	sc.Step(`^within the gateway's authorization cache lifetime, a new alert from that sender is refused with 403$`, refusedWithinCacheLifetime)
	sc.Step(`^the answer asks for a bearer token$`, asksForBearer)
	sc.Step(`^the refusal names (this namespace|the second namespace|the fallback namespace|this namespace and no other|the second namespace and no other|the fallback namespace and no other)$`, refusalNames)
	sc.Step(`^the remediation request for "([^"]+)" on `+targetPattern(true)+` records (that sender|the first sender)$`, recordsSender)
	sc.Step(`^the gateway's metrics are read (without a token|with the sender's token|with the scraper's token)$`, readMetricsAs)
	sc.Step(`^the metrics are served$`, metricsServed)
	registerTransportSteps(sc)
}

// senders is the scenario's part of the steps about who sends (here, fallbackauth.go) and of
// its Alertmanager (alertmanager.go): its own sender, the first it made, when it revoked one, and
// the Alertmanager. Senders in goroutines ask it for their credentials, hence the lock.
type senders struct {
	mu          sync.Mutex
	sender      *sender   // who sends the scenario's signals; nil: the suite's default sender
	firstSender *sender   // the sender the scenario made first, for "the first sender"
	revokedAt   time.Time // when the scenario revoked its sender's permission
	am          *am       // the scenario's own Alertmanager, when it has one
}

func (s *senders) use(snd *sender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sender = snd
}

// current is the scenario's own sender; nil for the suite's default.
func (s *senders) current() *sender {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sender
}

// useFirst makes snd the sender and remembers it as "the first sender".
func (s *senders) useFirst(snd *sender) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sender, s.firstSender = snd, snd
}

// named is the sender the Gherkin names: "the first sender", or the current one.
func (s *senders) named(which string) *sender {
	s.mu.Lock()
	defer s.mu.Unlock()
	if which == "the first sender" {
		return s.firstSender
	}
	return s.sender
}

func (s *senders) revoked(at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokedAt = at
}

func (s *senders) revokedSince() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokedAt
}

// authorization is the Authorization header a request carries (none: no header at all): the
// request's own, else the scenario's sender's, else the suite's default sender's bearer token
// (a ServiceAccount bound cluster-wide to kubernaut-signal-sender).
func (st *scenario) authorization(req sentRequest) (header string, none bool) {
	switch {
	case req.noAuthorization:
		return "", true
	case req.authorization != "":
		return req.authorization, false
	}
	switch s := st.senders.current(); {
	case s == nil:
		return "Bearer " + st.placement.view().senderToken, false
	case s.none:
		return "", true
	case s.header != "":
		return s.header, false
	default:
		return "Bearer " + s.token, false
	}
}

// sender is a ServiceAccount of the scenario that sends signals, or a broken credential.
type sender struct {
	namespace, name string
	token           string
	binding         string // the RoleBinding that grants it kubernaut-signal-sender, if any
	// header, when set, is sent as the Authorization header verbatim; none sends no header.
	header string
	none   bool
}

func (s *sender) username() string {
	return "system:serviceaccount:" + s.namespace + ":" + s.name
}

// senderRole is the shipped ClusterRole senders are bound to (gateway/config/rbac/sender_role.yaml).
const senderRole = "kubernaut-signal-sender"

// newSender makes a ServiceAccount in the scenario's namespace and a token for it. The token is
// new to the gateway, so the gateway's caches know nothing of it.
func (st *scenario) newSender(ctx context.Context, name string) (*sender, error) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: name}}
	if _, err := st.kube().CoreV1().ServiceAccounts(st.ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the sender's ServiceAccount %s/%s: %w", st.ns, name, err)
	}
	expiry := int64(time.Hour.Seconds())
	tr, err := st.kube().CoreV1().ServiceAccounts(st.ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("requesting a token for the sender %s/%s: %w", st.ns, name, err)
	}
	return &sender{namespace: st.ns, name: name, token: tr.Status.Token}, nil
}

// bind grants the sender kubernaut-signal-sender in namespace ns only (a RoleBinding).
func (st *scenario) bind(ctx context.Context, s *sender, ns string) error {
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: s.name + "-sends"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: senderRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: s.namespace, Name: s.name}},
	}
	if _, err := st.kube().RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("binding the sender %s to %s in %s: %w", s.name, senderRole, ns, err)
	}
	s.binding = ns + "/" + rb.Name
	// The API server's authorizer learns of the binding through its own cache, a moment later:
	// wait (bounded) until it grants the permission itself, so that the scenario is about the
	// gateway, not about that moment.
	return st.bounds().Await(ctx, "the API server to grant the sender's new binding in "+ns, func(ctx context.Context) (bool, string, error) {
		sar, err := st.kube().AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{
				User:   s.username(),
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + s.namespace, "system:authenticated"},
				ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: ns, Verb: "create", Group: "kubernaut.ai", Resource: "remediationrequests",
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return false, "", err
		}
		return sar.Status.Allowed, fmt.Sprintf("allowed=%t %s", sar.Status.Allowed, sar.Status.Reason), nil
	})
}

func (st *scenario) useSender(s *sender) { st.senders.use(s) }

func presents(ctx context.Context, what string) error {
	st := state(ctx)
	switch what {
	case "no token":
		st.useSender(&sender{none: true})
	case "a token that is not a token at all":
		st.useSender(&sender{header: "Bearer this-is-not-a-token"})
	case "a malformed Authorization header":
		st.useSender(&sender{header: "Basic " + "c2VuZGVyOnNlY3JldA=="})
	case "the token of a ServiceAccount that has since been deleted":
		s, err := st.newSender(ctx, "deleted-sender")
		if err != nil {
			return err
		}
		if err := st.bind(ctx, s, st.ns); err != nil {
			return err
		}
		if err := st.kube().CoreV1().ServiceAccounts(st.ns).Delete(ctx, s.name, metav1.DeleteOptions{}); err != nil {
			return fmt.Errorf("deleting the sender's ServiceAccount: %w", err)
		}
		// The API server learns of the deletion through its own cache, a moment later: wait
		// (bounded) until it no longer vouches for the token itself, so that the scenario is about
		// the gateway, not about that moment.
		if err := st.bounds().Await(ctx, "the API server to stop vouching for the deleted ServiceAccount's token", func(ctx context.Context) (bool, string, error) {
			tr, err := st.kube().AuthenticationV1().TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: s.token}}, metav1.CreateOptions{})
			if err != nil {
				return false, "", err
			}
			return !tr.Status.Authenticated, fmt.Sprintf("authenticated=%t as %q", tr.Status.Authenticated, tr.Status.User.Username), nil
		}); err != nil {
			return err
		}
		st.useSender(s)
	}
	return nil
}

func senderWithoutBinding(ctx context.Context) error {
	st := state(ctx)
	s, err := st.newSender(ctx, "unbound-sender")
	if err != nil {
		return err
	}
	st.useSender(s)
	return nil
}

func senderInThisNamespace(ctx context.Context) error {
	st := state(ctx)
	s, err := st.newSender(ctx, "team-sender")
	if err != nil {
		return err
	}
	if err := st.bind(ctx, s, st.ns); err != nil {
		return err
	}
	st.senders.useFirst(s)
	return nil
}

func anotherSenderInThisNamespace(ctx context.Context) error {
	st := state(ctx)
	s, err := st.newSender(ctx, "other-team-sender")
	if err != nil {
		return err
	}
	if err := st.bind(ctx, s, st.ns); err != nil {
		return err
	}
	st.useSender(s)
	return nil
}

func (st *scenario) currentSender() (*sender, error) {
	s := st.senders.current()
	if s == nil || s.token == "" {
		return nil, fmt.Errorf("the scenario has no sender of its own: a step such as 'a sender allowed to raise signals only in this namespace' must come first")
	}
	return s, nil
}

func revoke(ctx context.Context) error {
	st := state(ctx)
	s, err := st.currentSender()
	if err != nil {
		return err
	}
	ns, name, _ := strings.Cut(s.binding, "/")
	if err := st.kube().RbacV1().RoleBindings(ns).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		return fmt.Errorf("revoking the sender's RoleBinding %s: %w", s.binding, err)
	}
	st.senders.revoked(time.Now())
	return nil
}

// refusedWithinCacheLifetime sends a new alert (a new name each time, so no dedup hides the
// answer) until one is refused with 403. The bound is the contract's: the gateway's allow-cache
// lifetime (E2E_AUTHZ_CACHE_TTL), plus one answer's time (the request deadline); a 403 later than
// that, or never, fails. Until then the sender may still be allowed: 201, or a well-formed 503
// kubernetes-unavailable (allowed, then the API was too slow for the write: seen on a loaded
// machine). Anything else fails at once.
func refusedWithinCacheLifetime(ctx context.Context) error {
	st := state(ctx)
	revokedAt := st.senders.revokedSince()
	if revokedAt.IsZero() {
		return fmt.Errorf("no permission was revoked in this scenario")
	}
	ttl := st.run.AuthzCacheTTL()
	bound := ttl + st.gatewayConfig().RequestDeadline + st.bounds().AnswerMargin // the lifetime, then one answer
	n := 0
	err := st.bounds().Until(ctx, bound, "a 403 for the revoked sender", func(ctx context.Context) (bool, string, error) {
		n++
		a, err := st.newAlert(fmt.Sprintf("AfterRevocation%d", n), "warning", "pod", "api-7f9c")
		if err != nil {
			return false, "", err
		}
		resp, err := st.send(ctx, jsonRequest(alertPath, notification([]alert{a}, time.Now())))
		if err != nil {
			return false, "", err
		}
		switch resp.code {
		case http.StatusForbidden:
			return true, "", nil
		case http.StatusCreated:
			return false, fmt.Sprintf("%s after %s", resp, time.Since(revokedAt).Round(time.Millisecond)), nil
		case http.StatusServiceUnavailable:
			if err := st.checkProblem(resp); err == nil && resp.problem.Type == problemTypeBase+"kubernetes-unavailable" {
				return false, fmt.Sprintf("%s after %s", resp, time.Since(revokedAt).Round(time.Millisecond)), nil
			}
		}
		return false, "", fmt.Errorf("a revoked sender must get 201 (cached), 503 kubernetes-unavailable (allowed, API slow) or 403, never %s", resp)
	})
	if err != nil {
		return err
	}
	if took := time.Since(revokedAt); took > bound {
		return fmt.Errorf("the revocation took effect after %s, beyond the allow-cache lifetime %s", took, ttl)
	}
	return nil
}

func asksForBearer(ctx context.Context) error {
	resp, err := state(ctx).lastResponse()
	if err != nil {
		return err
	}
	for _, v := range resp.header.Values("WWW-Authenticate") {
		if scheme, _, _ := strings.Cut(strings.TrimSpace(v), " "); strings.EqualFold(scheme, "Bearer") {
			return nil
		}
	}
	return fmt.Errorf("a 401 must carry WWW-Authenticate: Bearer, but the headers were %v", resp.header)
}

// refusalNames checks that the 403's detail names the refused namespace(s); "and no other" also
// checks that the allowed namespace is not named.
func refusalNames(ctx context.Context, which string) error {
	st := state(ctx)
	resp, err := st.lastResponse()
	if err != nil {
		return err
	}
	if resp.code != http.StatusForbidden || resp.problem == nil {
		return fmt.Errorf("expected a 403 with problem details, got %s", resp)
	}
	want, other := st.ns, st.second
	switch {
	case strings.HasPrefix(which, "the second namespace"):
		want, other = st.second, st.ns
	case strings.HasPrefix(which, "the fallback namespace"):
		// The namespace authorized is the namespace written: not the one the labels name.
		want, other = st.run.FallbackNamespace(), st.ns
	}
	if !strings.Contains(resp.problem.Detail, want) {
		return fmt.Errorf("the refusal does not name the namespace %s: %q", want, resp.problem.Detail)
	}
	if strings.HasSuffix(which, "and no other") && other != "" && strings.Contains(resp.problem.Detail, other) {
		return fmt.Errorf("the refusal names %s too, where the sender is allowed: %q", other, resp.problem.Detail)
	}
	return nil
}

// recordsSender checks the kubernaut.ai/sender annotation: the username of the sender that
// created the remediation request, kept by every duplicate after it.
func recordsSender(ctx context.Context, name, kind, target, which string) error {
	st := state(ctx)
	s := st.senders.named(which)
	if s == nil || s.token == "" {
		return fmt.Errorf("the scenario has no sender of its own to compare with")
	}
	rr, err := st.newestRequest(ctx, name, kind, target)
	if err != nil {
		return err
	}
	if got := rr.Annotations[annotationSender]; got != s.username() {
		return fmt.Errorf("expected the remediation request %s to record the sender %q, it records %q", rr.Name, s.username(), got)
	}
	return nil
}

// readMetricsAs scrapes /metrics as the given caller; the answer is "the gateway answers" like
// any other.
func readMetricsAs(ctx context.Context, who string) error {
	st := state(ctx)
	req := sentRequest{method: http.MethodGet, path: "/metrics"}
	switch who {
	case "without a token":
		req.noAuthorization = true
	case "with the sender's token":
		req.authorization = "Bearer " + st.run.SenderToken()
	case "with the scraper's token":
		req.authorization = "Bearer " + st.run.ScraperToken()
	}
	_, err := st.send(ctx, req)
	return err
}

// metricsServed checks a successful scrape: 200 and the Prometheus text format.
func metricsServed(ctx context.Context) error {
	resp, err := state(ctx).lastResponse()
	if err != nil {
		return err
	}
	if resp.code != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/plain") ||
		!strings.Contains(string(resp.body), "# TYPE ") {
		return fmt.Errorf("expected the metrics in the Prometheus text format, got %s (Content-Type %q)", resp, resp.header.Get("Content-Type"))
	}
	return nil
}

// sendSpanningBatch sends one notification whose two alerts write to two namespaces.
func sendSpanningBatch(ctx context.Context) error {
	st := state(ctx)
	if st.second == "" {
		return fmt.Errorf("the scenario has no second namespace: 'Given a second namespace for this scenario' must come first")
	}
	here, err := st.newAlert("HighMemoryUsage", "critical", "pod", "api-7f9c")
	if err != nil {
		return err
	}
	there := here
	there.name, there.namespace = "DiskPressure", st.second
	_, err = st.send(ctx, jsonRequest(alertPath, notification([]alert{here, there}, time.Now())))
	return err
}
