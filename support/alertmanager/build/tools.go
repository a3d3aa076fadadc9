//go:build tools

// Package build only records the Alertmanager binary this module builds, so that `go mod tidy`
// keeps its dependencies.
package build

import (
	_ "github.com/prometheus/alertmanager/cmd/alertmanager"
)
