package cluster

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/moby/client"
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

// Options are everything a provider can be told. support/settings fills them from the run's
// settings and the tools' own environment (KUBECONFIG, DOCKER_HOST, KUBEBUILDER_ASSETS); the
// providers read no environment themselves. The zero value is the defaults of every field.
type Options struct {
	// Kubeconfigs are the existing provider's kubeconfig files, KUBECONFIG's list: the first one
	// is read. Empty: Home/.kube/config.
	Kubeconfigs []string
	// Home is the user's home directory, for the default kubeconfig; empty: os.UserHomeDir.
	Home string
	// KubeContext is the existing provider's kubeconfig context; empty: the file's current one.
	KubeContext string
	// DockerHost is the Docker engine of the k3s, kind and container providers; empty: the
	// engine's default socket.
	DockerHost string
	// K3sImage and KindImage are those providers' images, already loaded; empty: the defaults.
	K3sImage, KindImage string
	// Assets is a directory of envtest binaries (KUBEBUILDER_ASSETS) for the local provider;
	// empty: the control plane built from Go modules.
	Assets string
	// Log receives the providers' progress (a first build takes minutes); nil: standard error.
	Log io.Writer
}

// New returns the provider called name (empty means local), configured by o. It only configures:
// every prerequisite is checked by Start, which fails in one line when one is missing.
func New(name string, o Options) (Provider, error) {
	switch name = strings.TrimSpace(name); name {
	case "", NameLocal:
		return localProvider{assets: o.Assets, log: o.log()}, nil
	case NameExisting:
		return newExisting(o), nil
	case NameK3s:
		return newK3s(o), nil
	case NameKind:
		return newKind(o), nil
	case NameContainer:
		return newContainer(o), nil
	default:
		return nil, fmt.Errorf("cluster: unknown E2E_CLUSTER %q: valid values are %s",
			name, strings.Join(validNames, ", "))
	}
}

// dockerHost is the engine address the Docker tools would use: o.DockerHost, else the default
// socket.
func (o Options) dockerHost() string {
	if o.DockerHost != "" {
		return o.DockerHost
	}
	return client.DefaultDockerHost
}

func (o Options) log() io.Writer {
	if o.Log == nil {
		return os.Stderr
	}
	return o.Log
}

// kubeconfig is the file the existing provider reads, and whether KUBECONFIG named it.
func (o Options) kubeconfig() (string, bool) {
	for _, f := range o.Kubeconfigs {
		if f != "" {
			return f, true
		}
	}
	home := o.Home
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".kube", "config"), false
}
