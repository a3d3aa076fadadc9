// Package kubetest gives the gateway's tests a fake API server: controller-runtime's fake client set
// up like the real CRD (status subresource, spec.signalFingerprint field selector), plus scripted
// faults injected through interceptor.Funcs. It is only imported by tests.
package kubetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
	"github.com/kubernaut/gateway-contract/gateway/internal/kubeclient"
)

// Verbs the gateway uses, as Faults keys them.
const (
	VerbList         = "list"
	VerbGet          = "get"
	VerbCreate       = "create"
	VerbStatusUpdate = "status-update"
)

// NewClient returns a fake client behaving like an API server with the RemediationRequest CRD.
// faults may be nil.
func NewClient(faults *Faults, objs ...client.Object) client.WithWatch {
	scheme, err := kubeclient.Scheme()
	if err != nil {
		panic(err)
	}
	b := fake.NewClientBuilder().
		WithScheme(scheme).
		WithStatusSubresource(&v1alpha1.RemediationRequest{}).
		WithIndex(&v1alpha1.RemediationRequest{}, v1alpha1.FieldSignalFingerprint, func(o client.Object) []string {
			return []string{o.(*v1alpha1.RemediationRequest).Spec.SignalFingerprint}
		}).
		WithObjects(objs...)
	if faults != nil {
		b = b.WithInterceptorFuncs(faults.Funcs())
	}
	return b.Build()
}

// Fault is one scripted answer to one call.
type Fault struct {
	// Err is returned instead of (or, with AfterCall, after) the real call.
	Err error
	// AfterCall performs the real call first, so the effect happens but its answer is lost.
	AfterCall bool
	// Block waits for the call's context to end, like a black-holed connection.
	Block bool
	// Meanwhile, with AfterCall, runs after the real call and before its answer is lost: what
	// other writers do while the caller waits in vain.
	Meanwhile func()
	// Wait holds the call until the channel is closed, then makes it (a slow answer).
	Wait <-chan struct{}
}

// Faults scripts failures per verb and counts calls. It is safe for concurrent use.
type Faults struct {
	mu     sync.Mutex
	calls  map[string]int
	script map[string][]Fault
	// Match, if set, limits faults to calls on objects it accepts (nil object for lists).
	Match func(verb string, obj client.Object) bool
}

// Inject appends faults for the next calls of verb; calls beyond the script pass through.
func (f *Faults) Inject(verb string, faults ...Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.script == nil {
		f.script = map[string][]Fault{}
	}
	f.script[verb] = append(f.script[verb], faults...)
}

// FailN makes the next n calls of verb return err.
func (f *Faults) FailN(verb string, n int, err error) {
	for range n {
		f.Inject(verb, Fault{Err: err})
	}
}

// Calls is the number of calls of verb so far, failed ones included.
func (f *Faults) Calls(verb string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[verb]
}

// TotalCalls is the number of calls of any verb.
func (f *Faults) TotalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

func (f *Faults) next(verb string, obj client.Object) (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[verb]++
	if f.Match != nil && !f.Match(verb, obj) {
		return Fault{}, false
	}
	script := f.script[verb]
	if len(script) == 0 {
		return Fault{}, false
	}
	f.script[verb] = script[1:]
	return script[0], true
}

func (f *Faults) do(ctx context.Context, verb string, obj client.Object, call func() error) error {
	fault, ok := f.next(verb, obj)
	switch {
	case !ok:
		return call()
	case fault.Wait != nil:
		<-fault.Wait
		return call()
	case fault.Block:
		<-ctx.Done()
		return &url.Error{Op: "Post", URL: "https://kube/" + verb, Err: ctx.Err()}
	case fault.AfterCall:
		// The answer is lost, so the caller's object is not refreshed from it: its version stays
		// the one it sent (the fake client would otherwise write the new one into it).
		var sent string
		if obj != nil {
			sent = obj.GetResourceVersion()
		}
		if err := call(); err != nil {
			return err
		}
		if obj != nil {
			obj.SetResourceVersion(sent)
		}
		if fault.Meanwhile != nil {
			fault.Meanwhile()
		}
	}
	return fault.Err
}

// Funcs is the interceptor that applies the script.
func (f *Faults) Funcs() interceptor.Funcs {
	return interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			return f.do(ctx, VerbList, nil, func() error { return c.List(ctx, list, opts...) })
		},
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			return f.do(ctx, VerbGet, obj, func() error { return c.Get(ctx, key, obj, opts...) })
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			return f.do(ctx, VerbCreate, obj, func() error { return c.Create(ctx, obj, opts...) })
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			return f.do(ctx, VerbStatusUpdate, obj, func() error { return c.SubResource(sub).Update(ctx, obj, opts...) })
		},
	}
}

// TransientErrors are examples of every transient failure class, keyed by the retry reason the
// gateway must report for them.
func TransientErrors() map[string]error {
	gr := v1alpha1.Resource(v1alpha1.ResourcePlural)
	return map[string]error{
		"429":                apierrors.NewTooManyRequests("too many requests", 0),
		"500":                apierrors.NewInternalError(errors.New("etcd hiccup")),
		"502":                apierrors.NewGenericServerResponse(http.StatusBadGateway, "POST", gr, "", "bad gateway", 0, true),
		"503":                apierrors.NewServiceUnavailable("apiserver shutting down"),
		"504":                apierrors.NewGenericServerResponse(http.StatusGatewayTimeout, "POST", gr, "", "timeout", 0, true),
		"timeout":            &url.Error{Op: "Post", URL: "https://kube", Err: context.DeadlineExceeded},
		"connection-refused": &url.Error{Op: "Post", URL: "https://kube", Err: &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}},
		"connection-reset":   &url.Error{Op: "Post", URL: "https://kube", Err: &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}},
		"eof":                fmt.Errorf("unexpected error when reading response body. Please retry. Original error: %w", io.ErrUnexpectedEOF),
	}
}

// NamespaceNotFound is what the NamespaceLifecycle admission answers a create in a missing namespace.
func NamespaceNotFound(namespace string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, namespace)
}

// TooManyRequests is a 429 asking the client to wait seconds, as the API server sends it.
func TooManyRequests(seconds int) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: http.StatusTooManyRequests, Reason: metav1.StatusReasonTooManyRequests,
		Message: "too many requests", Details: &metav1.StatusDetails{RetryAfterSeconds: int32(seconds)},
	}}
}

// WithoutWatchList marks a ListWatch over the fake client as not supporting client-go's
// watch-list (a watch that streams the initial state and then a bookmark), which the fake's
// watch cannot do: an informer over it then lists and watches the classic way.
func WithoutWatchList(lw *toolscache.ListWatch) toolscache.ListerWatcher {
	return noWatchList{lw}
}

type noWatchList struct{ *toolscache.ListWatch }

func (noWatchList) IsWatchListSemanticsUnSupported() bool { return true }
