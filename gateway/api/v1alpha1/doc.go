// Package v1alpha1 holds the RemediationRequest custom resource of the kubernaut.ai API group.
//
// It is the only gateway package that the contract suite imports, so it depends on apimachinery
// alone: the suite can read and assert on the objects the gateway writes without pulling in the
// gateway's internals.
//
// +kubebuilder:object:generate=true
// +groupName=kubernaut.ai
package v1alpha1
