package soak

import (
	"crypto/sha256"
	"encoding/hex"
)

// Fingerprint is the gateway's identity of a signal as docs/design.md defines it: the lowercase
// hex SHA-256 of "name:namespace:kind:target", where namespace is the signal's own (empty for
// none). The soak computes it from the definition rather than importing the gateway's code, so
// that a gateway that computes it differently loses every alert in the check.
func Fingerprint(name, namespace, kind, target string) string {
	sum := sha256.Sum256([]byte(name + ":" + namespace + ":" + kind + ":" + target))
	return hex.EncodeToString(sum[:])
}

// ObjectName is the name docs/design.md gives the first RemediationRequest of a fingerprint:
// rr-<first 16 hex>-0. Lost entries carry it, so a person can look for the object by name.
func ObjectName(fingerprint string) string {
	return "rr-" + fingerprint[:16] + "-0"
}
