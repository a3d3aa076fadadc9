package soak

import "testing"

// The expected values are `printf 'name:namespace:kind:target' | sha256sum`, computed outside Go.
func TestFingerprintFollowsTheDesign(t *testing.T) {
	for _, tc := range []struct {
		name, namespace, kind, target string
		want                          string
	}{
		{"KubePodCrashLooping", "payments", "Pod", "api-7f9c", "68e231c6313b91d241fb0faf9e5dfe8761851ba8e4336e3da5e58f6bef528dee"},
		{"HighMemoryUsage", "", "Node", "worker-1", "f68c2cb568da5431427eb150cc2435b5dcabe7d4e8266e808ca6ce79c4a49322"},
	} {
		got := Fingerprint(tc.name, tc.namespace, tc.kind, tc.target)
		if got != tc.want {
			t.Errorf("Fingerprint(%q, %q, %q, %q) = %s, want %s", tc.name, tc.namespace, tc.kind, tc.target, got, tc.want)
		}
		if name := ObjectName(got); name != "rr-"+tc.want[:16]+"-0" {
			t.Errorf("ObjectName = %s", name)
		}
	}
}
