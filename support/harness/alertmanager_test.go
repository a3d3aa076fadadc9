package harness

import (
	"os"
	"testing"
)

// An Alertmanager reads its sender's token from a file only its owner may read, and the gateways'
// CA from another, which a deployed gateway verified by the system's roots does not need.
func TestWriteSenderFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ca     []byte
		wantCA bool
	}{
		{name: "with the run's CA", ca: []byte("-----BEGIN CERTIFICATE-----\n"), wantCA: true},
		{name: "a deployed gateway without E2E_GATEWAY_CA", ca: nil, wantCA: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tokenFile, caFile, err := writeSenderFiles(dir, "sender-token", tc.ca)
			if err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(tokenFile)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("the token file has mode %v, want 0600", info.Mode().Perm())
			}
			if got, _ := os.ReadFile(tokenFile); string(got) != "sender-token" {
				t.Errorf("the token file holds %q", got)
			}
			if (caFile != "") != tc.wantCA {
				t.Fatalf("caFile = %q, want one: %t", caFile, tc.wantCA)
			}
			if tc.wantCA {
				if got, _ := os.ReadFile(caFile); string(got) != string(tc.ca) {
					t.Errorf("the CA file holds %q", got)
				}
			}
		})
	}
}
