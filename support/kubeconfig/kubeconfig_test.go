package kubeconfig

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

func TestClientGoReadsWhatWriteWrites(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"token", Config{Context: "gateway", User: "gateway", Server: "https://127.0.0.1:6443", CAData: []byte("ca"), Token: "eyJ.a-b_c.d"}},
		{"client certificate", Config{Context: "local", User: "admin", Server: "https://[::1]:1", CAData: []byte("ca"), CertData: []byte("cert"), KeyData: []byte("key")}},
		{"no credentials", Config{Context: "c", User: "u", Server: "http://x"}},
		{"quotes in a token", Config{Context: "c", User: "u: odd", Server: "https://h", Token: `a"b\c`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "dir", "kubeconfig")
			if err := Write(path, tc.cfg); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", info.Mode().Perm())
			}
			rc, err := clientcmd.BuildConfigFromFlags("", path)
			if err != nil {
				t.Fatalf("client-go cannot read it: %v\n%s", err, tc.cfg.Bytes())
			}
			if rc.Host != tc.cfg.Server || rc.BearerToken != tc.cfg.Token || string(rc.CAData) != string(tc.cfg.CAData) ||
				string(rc.CertData) != string(tc.cfg.CertData) || string(rc.KeyData) != string(tc.cfg.KeyData) {
				t.Errorf("client-go read %+v from\n%s", rc, tc.cfg.Bytes())
			}
			raw, err := clientcmd.LoadFromFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if raw.CurrentContext != tc.cfg.Context || raw.Contexts[tc.cfg.Context].AuthInfo != tc.cfg.User {
				t.Errorf("context %q -> user %q, want %q -> %q", raw.CurrentContext, raw.Contexts[raw.CurrentContext].AuthInfo, tc.cfg.Context, tc.cfg.User)
			}
		})
	}
}
