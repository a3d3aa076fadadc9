package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// BenchmarkLocalControlPlane measures the embedded control plane the suite stands on: how long it
// takes to come up (reported as startup-s) and how fast it takes sequential writes (ns/op is one
// ConfigMap create).
func BenchmarkLocalControlPlane(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	c := startLocal(ctx, b)
	defer c.Stop(ctx)
	if sd, ok := c.(interface{ StartupDuration() time.Duration }); ok {
		b.ReportMetric(sd.StartupDuration().Seconds(), "startup-s")
	}
	cs := kubernetes.NewForConfigOrDie(c.RESTConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i)}}
		if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
