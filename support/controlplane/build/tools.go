//go:build tools

// Package build only records the control-plane binaries this module builds, so that
// `go mod tidy` keeps their dependencies.
package build

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
