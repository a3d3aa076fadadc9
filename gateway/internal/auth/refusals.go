package auth

import (
	"context"
	"crypto/sha256"
	"time"

	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apiserver/pkg/authentication/user"

	"github.com/kubernaut/gateway-contract/gateway/internal/metrics"
)

// A refused token costs the API server one TokenReview per deny TTL, however often and however
// concurrently it is sent: kube-apiserver refuses a token with a message in status.error, and
// k8s.io/apiserver's token cache does not cache an answer that carries an error, so without this
// every request with a bad token would cost a review. The Guard therefore remembers refusals
// itself, keyed by the token's SHA-256 (the token is not kept), and lets concurrent callers of one
// token share one lookup. The refusal check runs inside the shared lookup, so a caller arriving
// after a lookup has finished finds its answer remembered: N requests carrying K distinct unknown
// tokens cause at most K reviews per deny TTL, whatever N. Accepted tokens stay in
// k8s.io/apiserver's cache (AuthnCacheTTL); failed reviews are never remembered, so the next
// request asks again.

// lookupResult is one classified authentication: outcome is a metrics.Outcome*; err is nil,
// *UnauthenticatedError or *UnavailableError.
type lookupResult struct {
	user    user.Info
	outcome string
	err     error
}

// withRefusalCache makes g remember refused tokens for ttl; 0 remembers none.
func (g *Guard) withRefusalCache(ttl time.Duration) {
	if ttl > 0 {
		g.refused, g.denyTTL = cache.NewExpiring(), ttl
	}
}

// lookup authenticates header (whose bearer token is token), from the remembered refusals or
// with one lookup shared by every concurrent caller of the token. The shared lookup runs detached
// from any one caller's cancellation (one caller giving up must not fail the others, and
// k8s.io/apiserver bounds the lookup by its own timeout); each caller waits for it within ctx.
func (g *Guard) lookup(ctx context.Context, header, token string) lookupResult {
	sum := sha256.Sum256([]byte(token))
	key := string(sum[:])
	ch := g.lookups.DoChan(key, func() (any, error) {
		if g.refused != nil {
			if v, ok := g.refused.Get(key); ok {
				return v, nil
			}
		}
		res := g.review(context.WithoutCancel(ctx), header)
		if res.outcome == metrics.OutcomeUnauthenticated && g.refused != nil {
			g.refused.Set(key, res, g.denyTTL)
		}
		return res, nil
	})
	select {
	case r := <-ch:
		return r.Val.(lookupResult)
	case <-ctx.Done():
		return lookupResult{outcome: metrics.OutcomeError,
			err: &UnavailableError{Stage: metrics.StageAuthentication, Err: ctx.Err()}}
	}
}
