package cluster

import (
	"fmt"
	"strings"
)

// Names of the providers, as E2E_CLUSTER spells them and as Name reports them.
const (
	NameLocal     = "local"
	NameExisting  = "existing"
	NameK3s       = "k3s"
	NameKind      = "kind"
	NameContainer = "container"
)

// validNames lists what E2E_CLUSTER accepts, for the error on an unknown value.
var validNames = []string{NameLocal + " (default)", NameExisting, NameK3s, NameKind, NameContainer}

// FromEnv picks the provider named by E2E_CLUSTER (empty means local) and reads its settings
// through getenv, so that the suite runs unchanged against any of them. It only reads settings:
// every prerequisite is checked by Start, which fails in one line when one is missing.
//
// Production code passes os.Getenv. The tools the providers drive (the Docker client, kind,
// testcontainers) also read the process environment themselves, so getenv should agree with it.
func FromEnv(getenv func(string) string) (Provider, error) {
	switch name := strings.TrimSpace(getenv("E2E_CLUSTER")); name {
	case "", NameLocal:
		return newLocal(getenv)
	case NameExisting:
		return newExisting(getenv), nil
	case NameK3s:
		return newK3s(getenv), nil
	case NameKind:
		return newKind(getenv), nil
	case NameContainer:
		return newContainer(getenv), nil
	default:
		return nil, fmt.Errorf("cluster: unknown E2E_CLUSTER %q: valid values are %s",
			name, strings.Join(validNames, ", "))
	}
}
