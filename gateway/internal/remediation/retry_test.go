package remediation_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kuberetry"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubetest"
	"github.com/kubernaut/gateway-contract/gateway/internal/remediation"
)

// Every class of transient error, on every call the gateway makes, is retried and then succeeds.
// A new signal lists (without a cache), creates and updates the status; a read happens after a
// conflict.
func TestTransientErrorsRetriedThenSuccess(t *testing.T) {
	verbs := []string{kubetest.VerbList, kubetest.VerbCreate, kubetest.VerbGet, kubetest.VerbStatusUpdate}
	conflict := apierrors.NewConflict(v1alpha1.Resource(v1alpha1.ResourcePlural), "x", errors.New("modified"))
	for reason, injected := range kubetest.TransientErrors() {
		for _, verb := range verbs {
			t.Run(reason+"/"+verb, func(t *testing.T) {
				e := newEnv(t)
				if verb == kubetest.VerbGet {
					e.faults.Inject(kubetest.VerbStatusUpdate, kubetest.Fault{Err: conflict})
				}
				e.faults.FailN(verb, 2, injected)
				out, err := e.svc.Process(context.Background(), podSignal("payments", "api-1"), anyNamespace)
				require.NoError(t, err)
				assert.Equal(t, remediation.StatusCreated, out.Status)
				assert.EqualValues(t, 1, out.OccurrenceCount, "a retry never counts a signal twice")
				require.Len(t, e.retries, 2)
				for _, r := range e.retries {
					assert.Equal(t, reason, r.Reason)
				}
				assert.Len(t, e.list(t), 1)
			})
		}
	}
}

func TestBlackHoledCallTimesOutAndIsRetried(t *testing.T) {
	e := newEnv(t)
	e.faults.Inject(kubetest.VerbCreate, kubetest.Fault{Block: true})
	start := time.Now()
	out, err := e.svc.Process(context.Background(), podSignal("payments", "api-1"), anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.StatusCreated, out.Status)
	require.Len(t, e.retries, 1)
	assert.Equal(t, kuberetry.ReasonTimeout, e.retries[0].Reason)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestRetriesExhausted(t *testing.T) {
	e := newEnv(t)
	e.faults.FailN(kubetest.VerbCreate, 100, apierrors.NewServiceUnavailable("down"))
	_, err := e.svc.Process(context.Background(), podSignal("payments", "api-1"), anyNamespace)
	var u *kuberetry.UnavailableError
	require.ErrorAs(t, err, &u)
	assert.Equal(t, "503", u.Reason)
	assert.Equal(t, 5, e.faults.Calls(kubetest.VerbCreate), "--retry-attempts bounds the calls")
	assert.Empty(t, e.list(t), "nothing persisted")
}

func TestPermanentErrorsNotRetried(t *testing.T) {
	gr := v1alpha1.Resource(v1alpha1.ResourcePlural)
	gk := schema.GroupKind{Group: v1alpha1.GroupName, Kind: v1alpha1.Kind}
	errs := map[string]error{
		"400":             apierrors.NewBadRequest("bad"),
		"403":             apierrors.NewForbidden(gr, "x", errors.New("rbac")),
		"422":             apierrors.NewInvalid(gk, "x", nil),
		"404 not the ns":  apierrors.NewNotFound(gr, "x"),
		"404 no details":  &apierrors.StatusError{ErrStatus: apierrors.NewNotFound(gr, "x").ErrStatus},
		"401":             apierrors.NewUnauthorized("token expired"),
		"unknown failure": errors.New("x509: certificate signed by unknown authority"),
	}
	errs["404 no details"].(*apierrors.StatusError).ErrStatus.Details = nil
	for name, injected := range errs {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.faults.FailN(kubetest.VerbCreate, 1, injected)
			_, err := e.svc.Process(context.Background(), podSignal("payments", "api-1"), anyNamespace)
			require.Error(t, err)
			assert.False(t, kuberetry.IsUnavailable(err))
			assert.ErrorIs(t, err, injected)
			assert.Equal(t, 1, e.faults.Calls(kubetest.VerbCreate))
			assert.Empty(t, e.retries)
			assert.Empty(t, e.list(t))
		})
	}
}

func TestTooManyRequestsRetryAfterHonoured(t *testing.T) {
	e := newEnv(t)
	e.faults.FailN(kubetest.VerbCreate, 1, kubetest.TooManyRequests(3))
	_, err := e.svc.Process(context.Background(), podSignal("payments", "api-1"), anyNamespace)
	require.NoError(t, err)
	require.Len(t, e.sleeps, 1)
	assert.Equal(t, 3*time.Second, e.sleeps[0])
}

// A create whose answer is lost after it took effect: the retry meets AlreadyExists on our own object.
func TestLostCreateAnswerIsNotASecondObject(t *testing.T) {
	e := newEnv(t)
	e.faults.Inject(kubetest.VerbCreate, kubetest.Fault{AfterCall: true, Err: kubetest.TransientErrors()["eof"]})
	out, err := e.svc.Process(context.Background(), podSignal("payments", "api-1"), anyNamespace)
	require.NoError(t, err)
	assert.Equal(t, remediation.StatusCreated, out.Status)
	assert.EqualValues(t, 1, out.OccurrenceCount)
	assert.Len(t, e.list(t), 1)
}

// A status update whose answer is lost after it took effect must not be applied twice.
func TestLostStatusUpdateAnswerIsNotCountedTwice(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	e.faults.Inject(kubetest.VerbStatusUpdate, kubetest.Fault{AfterCall: true, Err: kubetest.TransientErrors()["timeout"]})
	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.EqualValues(t, 2, out.OccurrenceCount)
	assert.EqualValues(t, 2, e.list(t)[0].Status.Deduplication.OccurrenceCount)
}

// A status update whose answer is lost after it took effect, and that other writers then move on
// before its writer reads again, is still recognised as landed by its write ID: counted once, and
// answered with the count it wrote.
func TestLostStatusUpdateAnswerThenOtherWritersIsNotCountedTwice(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	// The other writers are another replica: a gateway process of its own on the same API.
	replica := &remediation.Service{Client: e.client, Retry: e.svc.Retry, FallbackNamespace: e.svc.FallbackNamespace, Now: e.svc.Now}
	others := func() {
		for range 3 {
			_, err := replica.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
		}
	}
	e.faults.Inject(kubetest.VerbStatusUpdate, kubetest.Fault{AfterCall: true, Err: kubetest.TransientErrors()["timeout"], Meanwhile: others})
	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.EqualValues(t, 2, out.OccurrenceCount, "the count this delivery wrote")
	d := e.list(t)[0].Status.Deduplication
	assert.EqualValues(t, 5, d.OccurrenceCount, "1 + this delivery + 3 others, none twice")
	assert.Len(t, d.Writes, 5)
}

// The write IDs are bounded: the oldest go first.
func TestWriteIDsAreBounded(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	for range v1alpha1.MaxRecentWrites + 5 {
		_, err := e.svc.Process(context.Background(), sig, anyNamespace)
		require.NoError(t, err)
	}
	d := e.list(t)[0].Status.Deduplication
	assert.EqualValues(t, v1alpha1.MaxRecentWrites+5, d.OccurrenceCount)
	assert.Len(t, d.Writes, v1alpha1.MaxRecentWrites)
}

func TestConflictsAreRetriedWithAFreshRead(t *testing.T) {
	e := newEnv(t)
	sig := podSignal("payments", "api-1")
	_, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	conflict := apierrors.NewConflict(v1alpha1.Resource(v1alpha1.ResourcePlural), "x", errors.New("modified"))
	e.faults.FailN(kubetest.VerbStatusUpdate, 3, conflict)
	out, err := e.svc.Process(context.Background(), sig, anyNamespace)
	require.NoError(t, err)
	assert.EqualValues(t, 2, out.OccurrenceCount)
	assert.Empty(t, e.retries, "a conflict is not a transient retry")
	assert.Equal(t, 1+3+1, e.faults.Calls(kubetest.VerbStatusUpdate), "first signal, three conflicts, success")
}

func TestRequestDeadlineEndsProcessing(t *testing.T) {
	e := newEnv(t)
	e.svc.Retry.Sleep = nil // real waits
	e.svc.Retry.Attempts = 1000
	e.faults.FailN(kubetest.VerbList, 1_000_000, apierrors.NewServiceUnavailable("down"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := e.svc.Process(ctx, podSignal("payments", "api-1"), anyNamespace)
	assert.True(t, kuberetry.IsUnavailable(err))
}

// A first occurrence's status write that landed while its answer was lost, and whose request then
// gave up (the API stayed away): the request fails, the redelivery is a duplicate, and it is the
// redelivery that reports the earlier creation, so that the created counter matches the objects.
// A first write that did not land is not reported: the redelivery's own write is the first.
func TestLostFirstWriteIsCountedCreatedByTheNextWrite(t *testing.T) {
	unavailable := apierrors.NewServiceUnavailable("outage")
	tests := []struct {
		name       string
		firstWrite kubetest.Fault
		status     string
		count      int32
		earlier    int
	}{
		{"landed, answer lost", kubetest.Fault{AfterCall: true, Err: kubetest.TransientErrors()["timeout"]}, remediation.StatusDuplicate, 2, 1},
		{"did not land", kubetest.Fault{Err: kubetest.TransientErrors()["timeout"]}, remediation.StatusCreated, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			sig := podSignal("payments", "api-1")
			e.faults.Inject(kubetest.VerbStatusUpdate, tt.firstWrite)
			e.faults.FailN(kubetest.VerbStatusUpdate, 4, unavailable) // the rest of the attempts
			_, err := e.svc.Process(context.Background(), sig, anyNamespace)
			require.True(t, kuberetry.IsUnavailable(err), "the first delivery fails: %v", err)
			require.Equal(t, 5, e.faults.Calls(kubetest.VerbStatusUpdate))

			out, err := e.svc.Process(context.Background(), sig, anyNamespace) // the sender delivers again
			require.NoError(t, err)
			assert.Equal(t, tt.status, out.Status)
			assert.Equal(t, tt.count, out.OccurrenceCount)
			assert.Equal(t, tt.earlier, out.EarlierCreated)

			out, err = e.svc.Process(context.Background(), sig, anyNamespace)
			require.NoError(t, err)
			assert.Zero(t, out.EarlierCreated, "an earlier creation is reported once")
		})
	}
}

// gateway_unconfirmed_creations counts a first write from the moment its answer is lost, while its
// request still retries, not only once the request gives up: a process killed in between holds it
// (the soak met exactly that, as a gauge that rose under its freeze).
func TestLostFirstWriteIsUnconfirmedWhileItsRequestRetries(t *testing.T) {
	e := newEnv(t)
	var during []int
	e.svc.Retry.OnRetry = func(context.Context, kuberetry.Retry) {
		during = append(during, e.svc.UnconfirmedCreations())
	}
	e.faults.Inject(kubetest.VerbStatusUpdate, kubetest.Fault{AfterCall: true, Err: kubetest.TransientErrors()["timeout"]})
	e.faults.FailN(kubetest.VerbStatusUpdate, 4, apierrors.NewServiceUnavailable("outage"))
	_, err := e.svc.Process(context.Background(), podSignal("payments", "api-1"), anyNamespace)
	require.True(t, kuberetry.IsUnavailable(err), "the delivery fails: %v", err)
	assert.Equal(t, []int{1, 1, 1, 1}, during, "pending at each retry after the lost answer")
	assert.Equal(t, 1, e.svc.UnconfirmedCreations())
}
