package faultproxy

import "testing"

func TestCredentialID(t *testing.T) {
	tests := []struct {
		name, a, b string
		same       bool
	}{
		{name: "none", a: "", b: "", same: true},
		{name: "same token", a: "Bearer abc", b: "Bearer abc", same: true},
		{name: "other token", a: "Bearer abc", b: "Bearer abd", same: false},
		{name: "token vs none", a: "Bearer abc", b: "", same: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := CredentialID(tc.a), CredentialID(tc.b)
			if (a == b) != tc.same {
				t.Fatalf("CredentialID(%q)=%s, CredentialID(%q)=%s; same=%v", tc.a, a, tc.b, b, tc.same)
			}
			if tc.a != "" && (len(a) != len("sha256:")+12 || a == tc.a) {
				t.Fatalf("CredentialID(%q) = %q: want sha256:<12 hex>, never the secret", tc.a, a)
			}
		})
	}
}
