//go:build tools

// This file pins the module's direct dependencies while the packages that use them are
// still being written, so that `go mod tidy` keeps them. It is never compiled.
package deps

import (
	_ "github.com/cucumber/godog"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/testutil"
	_ "github.com/stretchr/testify/require"
	_ "github.com/testcontainers/testcontainers-go"
	_ "github.com/testcontainers/testcontainers-go/modules/k3s"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	_ "k8s.io/apimachinery/pkg/runtime"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/kubernetes/fake"
	_ "k8s.io/client-go/dynamic"
	_ "k8s.io/client-go/util/retry"
	_ "sigs.k8s.io/controller-runtime/pkg/client"
	_ "sigs.k8s.io/controller-runtime/pkg/client/fake"
	_ "sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
	_ "sigs.k8s.io/e2e-framework/klient/wait"
	_ "sigs.k8s.io/e2e-framework/klient/wait/conditions"
	_ "sigs.k8s.io/e2e-framework/support/kind"
	_ "sigs.k8s.io/yaml"
)
