package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kubernaut/gateway-contract/support/alertmanager"
	"github.com/kubernaut/gateway-contract/support/lifecycle"
)

// StartAlertmanager starts the real Alertmanager the run built as a scenario's sender, in a work
// directory of its own, sending with token. The token is in a file, as a deployment mounts it
// (http_config.authorization.credentials_file), and so is the CA of the gateways' certificates
// (http_config.tls_config.ca_file): none for a deployed gateway without E2E_GATEWAY_CA, whose
// certificate the system's roots verify. o says the rest; its binary, files, work directory and
// bounds are the run's. Each thing is registered on undo the moment it exists, so undo stops the
// Alertmanager before it removes its directory.
func (h *Harness) StartAlertmanager(ctx context.Context, token string, o alertmanager.Options, undo *lifecycle.Stack) (*alertmanager.Alertmanager, error) {
	if h.AlertmanagerBinary == "" {
		return nil, errors.New("the harness built no Alertmanager")
	}
	dir, err := os.MkdirTemp("", "e2e-alertmanager-")
	if err != nil {
		return nil, fmt.Errorf("the Alertmanager's work directory: %w", err)
	}
	undo.Push("the Alertmanager's work directory", func(context.Context) error { return os.RemoveAll(dir) })
	if o.BearerTokenFile, o.CAFile, err = writeSenderFiles(dir, token, h.GatewayCA()); err != nil {
		return nil, err
	}
	o.Binary, o.WorkDir, o.Bounds = h.AlertmanagerBinary, dir, h.Settings.Timeouts
	a, err := alertmanager.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	undo.Push("the Alertmanager", func(context.Context) error { return a.Stop() })
	return a, nil
}

// writeSenderFiles writes what an Alertmanager in dir reads to reach a gateway: the bearer token,
// readable by its owner only, and the gateways' CA when there is one (caFile is empty otherwise).
func writeSenderFiles(dir, token string, ca []byte) (tokenFile, caFile string, err error) {
	tokenFile = filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		return "", "", fmt.Errorf("writing the sender's token for Alertmanager: %w", err)
	}
	if len(ca) == 0 {
		return tokenFile, "", nil
	}
	caFile = filepath.Join(dir, "gateway-ca.crt")
	if err := os.WriteFile(caFile, ca, 0o644); err != nil {
		return "", "", fmt.Errorf("writing the gateway's CA for Alertmanager: %w", err)
	}
	return tokenFile, caFile, nil
}
