// Package repo finds the project's checkout, so that the harness can read the CRD manifests,
// build the gateway and the control plane, and write reports from whatever directory
// `go test` runs a package in.
package repo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// ModulePath is the main module's path, used to recognise the checkout's root go.mod.
const ModulePath = "github.com/kubernaut/gateway-contract"

// Root walks up from the working directory to the directory whose go.mod declares ModulePath.
// E2E_REPO_ROOT overrides the search, for running a built test binary elsewhere.
func Root() (string, error) {
	if dir := os.Getenv("E2E_REPO_ROOT"); dir != "" {
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the project root: %w", err)
	}
	return rootFrom(wd)
}

func rootFrom(dir string) (string, error) {
	want := []byte("module " + ModulePath + "\n")
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.HasPrefix(data, want) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod declaring %s above %s: run from inside the checkout or set E2E_REPO_ROOT", ModulePath, dir)
		}
	}
}

// Path joins elements onto the project root.
func Path(elem ...string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(append([]string{root}, elem...)...), nil
}
