package soak

import (
	"context"
	"fmt"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubernaut/gateway-contract/gateway/api/v1alpha1"
)

// world is a cluster as a correct gateway would leave it after a soak: one active
// RemediationRequest per sent fingerprint, counted exactly its floor, and a created metric that
// matches; each case then breaks it in one way behind the gateway's back.
type world struct {
	client client.Client
	exp    Expectation
	objs   []*v1alpha1.RemediationRequest
}

func newWorld(t *testing.T, fingerprints int) *world {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	w := &world{exp: Expectation{Namespaces: []string{"soak-a", "soak-b"}}}
	var objs []client.Object
	for i := range fingerprints {
		ns := w.exp.Namespaces[i%2]
		pod := fmt.Sprintf("pod-%02d", i)
		fp := Fingerprint("SoakAlert", ns, "Pod", pod)
		w.exp.Signals = append(w.exp.Signals, Want{Fingerprint: fp, Alertname: "SoakAlert", Namespace: ns, Pod: pod, MinOccurrences: 3})
		rr := remediation(ns, ObjectName(fp), fp, 3, "")
		w.objs = append(w.objs, rr)
		objs = append(objs, rr)
	}
	w.exp.CreatedMetric = fingerprints
	w.client = fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&v1alpha1.RemediationRequest{}).Build()
	return w
}

func remediation(ns, name, fp string, count int32, phase string) *v1alpha1.RemediationRequest {
	rr := &v1alpha1.RemediationRequest{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.RemediationRequestSpec{SignalFingerprint: fp, SignalName: "SoakAlert"},
		Status:     v1alpha1.RemediationRequestStatus{OverallPhase: phase},
	}
	if count > 0 {
		rr.Status.Deduplication = &v1alpha1.DeduplicationStatus{OccurrenceCount: count}
	}
	return rr
}

func (w *world) delete(t *testing.T, ctx context.Context, idx ...int) []string {
	t.Helper()
	var fps []string
	for _, i := range idx {
		if err := w.client.Delete(ctx, w.objs[i]); err != nil {
			t.Fatal(err)
		}
		fps = append(fps, w.objs[i].Spec.SignalFingerprint)
	}
	return fps
}

func (w *world) create(t *testing.T, ctx context.Context, rr *v1alpha1.RemediationRequest) {
	t.Helper()
	if err := w.client.Create(ctx, rr); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReportsExactlyWhatWasBrokenBehindTheGatewaysBack(t *testing.T) {
	type want struct {
		lost, doubled, short, unexpected []string // fingerprints
		rrs, occurrences                 int
		metricsAgree, ok                 bool
	}
	for _, tc := range []struct {
		name  string
		spoil func(t *testing.T, ctx context.Context, w *world) want
	}{
		{"a cluster that matches passes", func(t *testing.T, ctx context.Context, w *world) want {
			return want{rrs: 10, occurrences: 30, metricsAgree: true, ok: true}
		}},
		{"deleted RemediationRequests are reported lost, exactly those", func(t *testing.T, ctx context.Context, w *world) want {
			fps := w.delete(t, ctx, 1, 4, 7)
			return want{lost: fps, rrs: 7, occurrences: 21}
		}},
		{"deleted, with the metric adjusted: lost is still caught by the cluster alone", func(t *testing.T, ctx context.Context, w *world) want {
			fps := w.delete(t, ctx, 0)
			w.exp.CreatedMetric = 9
			return want{lost: fps, rrs: 9, occurrences: 27, metricsAgree: true}
		}},
		{"a second active object for a fingerprint is doubled", func(t *testing.T, ctx context.Context, w *world) want {
			fp := w.objs[2].Spec.SignalFingerprint
			w.create(t, ctx, remediation(w.objs[2].Namespace, "rr-"+fp[:16]+"-1", fp, 1, ""))
			w.exp.CreatedMetric = 11
			return want{doubled: []string{fp}, rrs: 11, occurrences: 31, metricsAgree: true}
		}},
		{"a terminal object beside the active one is not doubled, and its count still adds up", func(t *testing.T, ctx context.Context, w *world) want {
			fp := w.objs[3].Spec.SignalFingerprint
			w.create(t, ctx, remediation(w.objs[3].Namespace, "rr-"+fp[:16]+"-1", fp, 1, v1alpha1.PhaseCompleted))
			w.exp.CreatedMetric = 11
			return want{rrs: 11, occurrences: 31, metricsAgree: true, ok: true}
		}},
		{"an object counted fewer times than delivered is short-counted", func(t *testing.T, ctx context.Context, w *world) want {
			rr := w.objs[5].DeepCopy()
			rr.Status.Deduplication.OccurrenceCount = 2
			if err := w.client.Status().Update(ctx, rr); err != nil {
				t.Fatal(err)
			}
			return want{short: []string{rr.Spec.SignalFingerprint}, rrs: 10, occurrences: 29, metricsAgree: true}
		}},
		{"an object whose first occurrence was never recorded is short-counted", func(t *testing.T, ctx context.Context, w *world) want {
			rr := w.objs[6].DeepCopy()
			rr.Status.Deduplication = nil
			if err := w.client.Status().Update(ctx, rr); err != nil {
				t.Fatal(err)
			}
			return want{short: []string{rr.Spec.SignalFingerprint}, rrs: 10, occurrences: 27, metricsAgree: true}
		}},
		{"an object for a fingerprint that was not sent is unexpected", func(t *testing.T, ctx context.Context, w *world) want {
			fp := Fingerprint("SoakAlert", "soak-a", "Deployment", "pod-00") // another kind: another identity
			w.create(t, ctx, remediation("soak-a", ObjectName(fp), fp, 1, ""))
			w.exp.CreatedMetric = 11
			return want{unexpected: []string{fp}, rrs: 11, occurrences: 31, metricsAgree: true}
		}},
		{"a sent fingerprint in the wrong namespace is lost there and unexpected here", func(t *testing.T, ctx context.Context, w *world) want {
			moved := w.objs[8].DeepCopy() // soak-a
			fps := w.delete(t, ctx, 8)
			moved.Namespace, moved.ResourceVersion = "soak-b", ""
			w.create(t, ctx, moved)
			return want{lost: fps, unexpected: fps, rrs: 10, occurrences: 30, metricsAgree: true}
		}},
		{"a created metric that disagrees with the cluster fails", func(t *testing.T, ctx context.Context, w *world) want {
			w.exp.CreatedMetric = 12
			return want{rrs: 10, occurrences: 30}
		}},
		{"objects beyond the created metric are covered by the processes' unconfirmed creations", func(t *testing.T, ctx context.Context, w *world) want {
			w.exp.CreatedMetric, w.exp.Unconfirmed = 8, 3
			return want{rrs: 10, occurrences: 30, metricsAgree: true, ok: true}
		}},
		{"objects beyond the created metric and its unconfirmed creations fail", func(t *testing.T, ctx context.Context, w *world) want {
			w.exp.CreatedMetric, w.exp.Unconfirmed = 8, 1
			return want{rrs: 10, occurrences: 30}
		}},
		{"unconfirmed creations excuse no count above the cluster", func(t *testing.T, ctx context.Context, w *world) want {
			w.exp.CreatedMetric, w.exp.Unconfirmed = 11, 3
			return want{rrs: 10, occurrences: 30}
		}},
		{"an unknown metric is not checked", func(t *testing.T, ctx context.Context, w *world) want {
			w.exp.CreatedMetric = -1
			return want{rrs: 10, occurrences: 30, ok: true}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, 10)
			want := tc.spoil(t, ctx, w)
			got, err := Check(ctx, w.client, w.exp)
			if err != nil {
				t.Fatal(err)
			}
			fps := func(n int, fp func(int) string) []string {
				var out []string
				for i := range n {
					out = append(out, fp(i))
				}
				slices.Sort(out)
				return out
			}
			slices.Sort(want.lost)
			compare := []struct {
				what      string
				got, want []string
			}{
				{"lost", fps(len(got.Lost), func(i int) string { return got.Lost[i].Fingerprint }), want.lost},
				{"doubled", fps(len(got.Doubled), func(i int) string { return got.Doubled[i].Fingerprint }), want.doubled},
				{"short-counted", fps(len(got.ShortCounted), func(i int) string { return got.ShortCounted[i].Fingerprint }), want.short},
				{"unexpected", fps(len(got.Unexpected), func(i int) string { return got.Unexpected[i].Fingerprint }), want.unexpected},
			}
			for _, c := range compare {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s = %v, want exactly %v", c.what, c.got, c.want)
				}
			}
			for _, l := range got.Lost {
				if l.ExpectedName != ObjectName(l.Fingerprint) || l.Pod == "" || l.Namespace == "" {
					t.Errorf("lost entry does not say what to look for: %+v", l)
				}
			}
			if got.RemediationRequests != want.rrs || got.Occurrences != want.occurrences {
				t.Errorf("counted %d objects and %d occurrences, want %d and %d", got.RemediationRequests, got.Occurrences, want.rrs, want.occurrences)
			}
			if got.MetricsAgree != want.metricsAgree {
				t.Errorf("metrics agree = %v, want %v", got.MetricsAgree, want.metricsAgree)
			}
			if got.OK() != want.ok {
				t.Errorf("OK() = %v, want %v; failures: %v", got.OK(), want.ok, got.Failures())
			}
		})
	}
}
