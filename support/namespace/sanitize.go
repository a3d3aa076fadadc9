package namespace

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// slug reduces s to at most max characters of [a-z0-9-], with no leading, trailing or doubled
// hyphens, so it can sit inside a DNS-1123 label. Anything else (punctuation, unicode) becomes a
// hyphen; an empty result becomes "scenario" so the name still says what it is.
func slug(s string, max int) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		} else {
			hyphen = true
		}
		if b.Len() >= max {
			break
		}
	}
	out := b.String()
	if len(out) > max {
		out = out[:max]
	}
	out = strings.Trim(out, "-")
	if out == "" {
		out = fallbackSlug
		if len(out) > max {
			out = out[:max]
		}
	}
	return out
}

// LabelValue turns any string into a valid label value (at most 63 characters of
// [A-Za-z0-9._-], beginning and ending with a letter or digit). A value that had to be cut ends
// in a hash of the whole input, so two long scenario names sharing a prefix still select apart.
func LabelValue(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'),
			r == '.', r == '_':
			b.WriteRune(r)
		default:
			if !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	out := trimLabel(b.String())
	if len(out) <= maxLabel {
		return out
	}
	sum := sha256.Sum256([]byte(s))
	hash := hex.EncodeToString(sum[:4])
	prefix := trimLabel(out[:maxLabel-len(hash)-1])
	if prefix == "" {
		return hash
	}
	return prefix + "-" + hash
}

func trimLabel(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return !((r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
	})
}
