package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of every kubernaut custom resource.
const GroupName = "kubernaut.ai"

var (
	// GroupVersion identifies this API version; clients use it to build REST mappings and schemes.
	GroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

	// SchemeGroupVersion is an alias of GroupVersion for code that follows the client-go naming.
	SchemeGroupVersion = GroupVersion

	// SchemeBuilder registers this package's types; it uses apimachinery's builder so that the
	// package does not depend on controller-runtime.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the RemediationRequest types to a scheme, as every typed client needs.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Resource returns the group-qualified resource, as apierrors constructors expect.
func Resource(resource string) schema.GroupResource {
	return GroupVersion.WithResource(resource).GroupResource()
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion, &RemediationRequest{}, &RemediationRequestList{})
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
