package e2e

import (
	"strings"
	"testing"
)

func TestAndTags(t *testing.T) {
	tests := []struct{ filter, term, want string }{
		{"", "~@quarantine", "~@quarantine"},
		{"@resilience", "~@quarantine", "@resilience && ~@quarantine"},
		{"@a,@b && ~@c", "@quarantine", "@a && @quarantine,@b && ~@c && @quarantine"},
	}
	for _, tc := range tests {
		if got := andTags(tc.filter, tc.term); got != tc.want {
			t.Errorf("andTags(%q, %q) = %q, want %q", tc.filter, tc.term, got, tc.want)
		}
	}
}

func TestCheckTags(t *testing.T) {
	tests := []struct{ filter, errPart string }{
		{"", ""},
		{"@resilience", ""},
		{"@dedup && ~@dedicated-gateway,@ops", ""},
		{"(@a) && ~@b", "no parentheses"},
		{"@a or @b", "no parentheses"},
		{"resilience", "is not a tag"},
	}
	for _, tc := range tests {
		err := checkTags(tc.filter)
		if tc.errPart == "" && err != nil {
			t.Errorf("checkTags(%q) = %v, want nil", tc.filter, err)
		}
		if tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("checkTags(%q) = %v, want an error containing %q", tc.filter, err, tc.errPart)
		}
	}
}
