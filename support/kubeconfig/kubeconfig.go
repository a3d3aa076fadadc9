// Package kubeconfig writes the one-context kubeconfig files the suite hands out: the
// administrator's of a control plane, the gateway's (its token, the fault proxy's CA), and those
// the container's launcher writes. It uses only the standard library, so that the launcher,
// built into an image FROM scratch, can use it too; client-go reads what it writes.
package kubeconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Config is one server, one user and the context that joins them, the current one.
type Config struct {
	// Context names the context and the cluster; User names the user.
	Context, User string
	Server        string
	CAData        []byte
	// Token, or CertData and KeyData (PEM): the user's credentials. Empty ones are left out.
	Token             string
	CertData, KeyData []byte
}

// Bytes is the kubeconfig as YAML.
func (c Config) Bytes() []byte {
	b64 := base64.StdEncoding.EncodeToString
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "apiVersion: v1\nkind: Config\nclusters:\n- name: %s\n  cluster:\n    server: %s\n",
		str(c.Context), str(c.Server))
	if len(c.CAData) > 0 {
		fmt.Fprintf(&buf, "    certificate-authority-data: %s\n", b64(c.CAData))
	}
	fmt.Fprintf(&buf, "users:\n- name: %s\n  user:", str(c.User))
	if c.Token == "" && len(c.CertData) == 0 && len(c.KeyData) == 0 {
		buf.WriteString(" {}")
	}
	buf.WriteString("\n")
	if len(c.CertData) > 0 {
		fmt.Fprintf(&buf, "    client-certificate-data: %s\n", b64(c.CertData))
	}
	if len(c.KeyData) > 0 {
		fmt.Fprintf(&buf, "    client-key-data: %s\n", b64(c.KeyData))
	}
	if c.Token != "" {
		fmt.Fprintf(&buf, "    token: %s\n", str(c.Token))
	}
	fmt.Fprintf(&buf, "contexts:\n- name: %s\n  context:\n    cluster: %s\n    user: %s\ncurrent-context: %s\n",
		str(c.Context), str(c.Context), str(c.User), str(c.Context))
	return buf.Bytes()
}

// Write writes the kubeconfig readable by its owner only (it holds credentials), atomically,
// creating its directory if needed.
func Write(path string, c Config) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing the kubeconfig %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, c.Bytes(), 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing the kubeconfig %s: %w", path, err)
	}
	return nil
}

// str quotes a value as a YAML double-quoted scalar, which JSON's string syntax is.
func str(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}
