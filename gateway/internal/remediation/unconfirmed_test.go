package remediation

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

func rrWithWrites(name string, uid types.UID, writes ...string) *v1alpha1.RemediationRequest {
	return &v1alpha1.RemediationRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: name, UID: uid},
		Status:     v1alpha1.RemediationRequestStatus{Deduplication: &v1alpha1.DeduplicationStatus{Writes: writes}},
	}
}

func TestUnconfirmedSettle(t *testing.T) {
	tests := []struct {
		name    string
		written *v1alpha1.RemediationRequest
		want    bool
	}{
		{"the lost write is among the earlier writes", rrWithWrites("rr", "u1", "lost", "next"), true},
		{"another writer wrote the first occurrence", rrWithWrites("rr", "u1", "other", "next"), false},
		{"the next write is itself the first", rrWithWrites("rr", "u1", "next"), false},
		{"only the written object's own ID matches", rrWithWrites("rr", "u1", "other", "lost"), false},
		{"a later object of the same name", rrWithWrites("rr", "u2", "lost", "next"), false},
		{"another object", rrWithWrites("rr-2", "u3", "lost", "next"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u unconfirmed
			u.remember(rrWithWrites("rr", "u1", "lost"))
			assert.Equal(t, 1, u.pending())
			assert.Equal(t, tt.want, u.settle(tt.written))
			if tt.written.Name == "rr" {
				assert.Zero(t, u.pending(), "settled, whatever the answer")
				assert.False(t, u.settle(rrWithWrites("rr", "u1", "lost", "next")), "settled once, whatever the answer")
			} else {
				assert.Equal(t, 1, u.pending(), "another object's write settles nothing")
			}
		})
	}
}

// Two unanswered first writes of one object (at most one of them landed): one creation pending,
// and whichever landed is found. A later object of the same name starts afresh.
func TestUnconfirmedHoldsEveryFirstWriteOfAnObject(t *testing.T) {
	for _, landed := range []string{"lost-1", "lost-2"} {
		var u unconfirmed
		u.remember(rrWithWrites("rr", "u1", "lost-1"))
		u.remember(rrWithWrites("rr", "u1", "lost-2"))
		u.remember(rrWithWrites("rr", "u1", "lost-2")) // an attempt repeated
		assert.Equal(t, 1, u.pending(), "one object, one creation at most")
		assert.True(t, u.settle(rrWithWrites("rr", "u1", landed, "next")), "%s landed", landed)
		assert.Zero(t, u.pending())
	}
	var u unconfirmed
	u.remember(rrWithWrites("rr", "u1", "lost-1"))
	u.remember(rrWithWrites("rr", "u2", "lost-2"))
	assert.False(t, u.settle(rrWithWrites("rr", "u2", "lost-1", "next")), "the old object's write is forgotten")
}

func TestUnconfirmedIsBounded(t *testing.T) {
	var u unconfirmed
	for i := range maxUnconfirmed + 1 {
		u.remember(rrWithWrites(fmt.Sprint("rr-", i), "", "lost"))
	}
	assert.Equal(t, maxUnconfirmed, u.pending())
	assert.False(t, u.settle(rrWithWrites("rr-0", "", "lost", "next")), "the oldest went first")
	assert.True(t, u.settle(rrWithWrites("rr-1", "", "lost", "next")))
}
