package steps

// The contract's values, spelled out here as literals on purpose: the suite asserts what the
// contract (docs/design.md) promises, not whatever the gateway's constants say today, so that
// renaming a label or a phase in gateway/api breaks the suite instead of silently following.
const (
	labelManagedBy         = "app.kubernetes.io/managed-by"
	managedByGateway       = "kubernaut-gateway"
	labelSignalFingerprint = "kubernaut.ai/signal-fingerprint"
	labelSeverity          = "kubernaut.ai/severity"
	labelSignalType        = "kubernaut.ai/signal-type"
	labelOriginNamespace   = "kubernaut.ai/origin-namespace"
	annotationSender       = "kubernaut.ai/sender"

	signalTypeKubernetesEvent = "kubernetes-event"
)

// terminalPhases are the values of status.overallPhase after which a new signal starts a new
// remediation request.
var terminalPhases = map[string]bool{
	"Completed": true, "Failed": true, "TimedOut": true, "Skipped": true, "Cancelled": true,
}
