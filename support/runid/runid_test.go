package runid

import (
	"regexp"
	"testing"
)

func TestNew(t *testing.T) {
	// 100 ids in one second share the clock part; the five random characters keep the chance of a
	// repeat below 1e-4.
	shape := regexp.MustCompile(`^[0-9a-z]{8}$`)
	seen := map[string]bool{}
	for range 100 {
		id := New()
		if !shape.MatchString(id) {
			t.Fatalf("run id %q is not 8 lowercase base36 characters", id)
		}
		if seen[id] {
			t.Fatalf("repeated run id %q", id)
		}
		seen[id] = true
	}
}

func TestBase36(t *testing.T) {
	tests := []struct {
		v    uint64
		n    int
		want string
	}{
		{0, 3, "000"},
		{35, 2, "0z"},
		{36, 2, "10"},
		{36 * 36 * 36, 3, "000"}, // wraps: only the low digits
		{46655, 3, "zzz"},
	}
	for _, tc := range tests {
		if got := base36(tc.v, tc.n); got != tc.want {
			t.Errorf("base36(%d, %d) = %q, want %q", tc.v, tc.n, got, tc.want)
		}
	}
}
