// Package signal turns the payloads the gateway accepts (Alertmanager webhooks and core/v1 Events)
// into Signals: the normalised, size-bounded form from which a RemediationRequest is built. It owns
// the identity rules (target extraction and fingerprint) so that every endpoint agrees on them.
package signal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// ErrInvalidPayload marks every parse failure that is the sender's fault; the HTTP layer answers it
// with 400 and writes nothing to the cluster.
var ErrInvalidPayload = errors.New("invalid payload")

// Reasons for which a signal is accepted but creates nothing (Signal.IgnoreReason).
const (
	IgnoreResolved    = "resolved"
	IgnoreNormalEvent = "normal-event"
)

// Target kinds the identity rules name explicitly.
const (
	KindPod              = "Pod"
	KindDeployment       = "Deployment"
	KindStatefulSet      = "StatefulSet"
	KindDaemonSet        = "DaemonSet"
	KindNode             = "Node"
	KindService          = "Service"
	KindNamespace        = "Namespace"
	KindPersistentVolume = "PersistentVolume"
	KindCluster          = "Cluster"

	// ClusterTargetName is the target name of a signal that names neither an object nor a namespace.
	ClusterTargetName = "cluster"
)

// Target is the object a signal is about.
type Target struct {
	Kind string
	Name string
}

// Signal is one alert or event, normalised. Maps and Payload are already cut to the CRD's limits.
type Signal struct {
	// Name is the alertname, or the event reason.
	Name string
	// Severity is critical, warning or info.
	Severity string
	// Type and Source are the v1alpha1 SignalType* and SignalSource* values.
	Type   string
	Source string
	// Namespace is the signal's own namespace, before any fallback; empty for none.
	Namespace string
	Target    Target
	// Fingerprint is the identity of the signal, see Fingerprint.
	Fingerprint  string
	FiringTime   time.Time
	ReceivedTime time.Time
	Labels       map[string]string
	Annotations  map[string]string
	// Payload is the compact JSON of the one alert (or the whole event).
	Payload string
	// IgnoreReason is set (IgnoreResolved, IgnoreNormalEvent) when the signal needs no
	// RemediationRequest; such a signal is still reported in the response.
	IgnoreReason string
	// Sender is the authenticated username of the caller that sent the signal, set by the HTTP
	// layer after authorization; the parsers leave it empty.
	Sender string
}

// Fingerprint is the lowercase hex SHA-256 of "name:namespace:kind:targetName". The namespace is the
// signal's own (before fallback), so one alert always maps to one identity wherever it is stored.
func Fingerprint(name, namespace, kind, targetName string) string {
	sum := sha256.Sum256([]byte(name + ":" + namespace + ":" + kind + ":" + targetName))
	return hex.EncodeToString(sum[:])
}

// ClusterScoped reports whether the signal has no namespace to live in, either because its target
// kind is cluster-scoped or because it carries no namespace. Such signals go to the fallback namespace.
func (s *Signal) ClusterScoped() bool {
	if s.Namespace == "" {
		return true
	}
	switch s.Target.Kind {
	case KindNode, KindNamespace, KindPersistentVolume, KindCluster:
		return true
	}
	return false
}

// TargetNamespace is the namespace recorded in spec.targetResource: empty for cluster-scoped targets.
func (s *Signal) TargetNamespace() string {
	if s.ClusterScoped() {
		return ""
	}
	return s.Namespace
}

func (s *Signal) setFingerprint() {
	s.Fingerprint = Fingerprint(s.Name, s.Namespace, s.Target.Kind, s.Target.Name)
}

// storableTime is t in UTC when the API can store it (metav1.Time is RFC 3339 with a four-digit
// year), else fallback. A sender's time zone offset can push a valid-looking timestamp to year 0 or
// 10000, which would create an object that no client can read back.
func storableTime(t, fallback time.Time) time.Time {
	if t.IsZero() {
		return fallback
	}
	u := t.UTC()
	if u.Year() < 1 || u.Year() > 9999 {
		return fallback
	}
	return u
}
