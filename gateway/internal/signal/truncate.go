package signal

import "unicode/utf8"

// Size limits of the stored copy of a signal. They keep one RemediationRequest far below etcd's
// object size limit whatever the sender puts in its labels.
const (
	MaxLabelValueBytes      = 1024
	MaxAnnotationValueBytes = 4096
	MaxPayloadBytes         = 64 * 1024
)

// Truncate cuts s to at most limit bytes without splitting a UTF-8 sequence, so the result is still
// valid text when s was.
func Truncate(s string, limit int) string {
	if limit <= 0 {
		return ""
	}
	if len(s) <= limit {
		return s
	}
	// s[limit] is the first byte dropped. If it continues a multi-byte rune, step back to that rune's
	// first byte so the rune is dropped whole.
	cut := limit
	for i := 0; i < utf8.UTFMax-1 && cut > 0 && !utf8.RuneStart(s[cut]); i++ {
		cut--
	}
	if r, size := utf8.DecodeRuneInString(s[cut:]); (r == utf8.RuneError && size <= 1) || cut+size <= limit {
		// No valid rune straddles the limit (the bytes there are not UTF-8): cut at the limit.
		return s[:limit]
	}
	return s[:cut]
}

// truncateValues returns m with every value cut to limit bytes: m itself when no value is too
// long (the common case, without a copy), else a copy; nil and empty give nil. m is never
// modified: callers still read the whole values (the target's name comes from a label).
func truncateValues(m map[string]string, limit int) map[string]string {
	if len(m) == 0 {
		return nil
	}
	long := false
	for _, v := range m {
		if len(v) > limit {
			long = true
			break
		}
	}
	if !long {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = Truncate(v, limit)
	}
	return out
}
