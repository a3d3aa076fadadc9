package harness

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubernaut/gateway-contract/support/lifecycle"
	"github.com/kubernaut/gateway-contract/support/settings"
)

// A launched gateway's certificate comes from the run's CA, for the addresses the suite reaches
// it at, and the run's client trusts it; a client without the CA does not.
func TestRunClientTrustsTheGatewaysCertificates(t *testing.T) {
	h := &Harness{workDir: t.TempDir()}
	if err := h.setupGatewayCA(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	var undo lifecycle.Stack
	dir, err := h.writeGatewayCertificate("shared", &undo)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tls.crt", "tls.key"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644 (as a kubelet projects a Secret, for the container's user)", f, fi.Mode().Perm())
		}
	}
	pair, err := h.IssueGatewayCertificate("test")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pair.TLS()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	defer srv.Close()
	if resp, err := h.HTTPClient().Get(srv.URL); err != nil {
		t.Errorf("the run's client does not trust its CA's certificate: %v", err)
	} else {
		resp.Body.Close()
	}
	if _, err := http.Get(srv.URL); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client without the run's CA: %v, want a certificate error", err)
	}
	if err := undo.Unwind(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the certificate's directory %s outlived its undo: %v", dir, err)
	}
}

// In contract mode the suite issues nothing and trusts E2E_GATEWAY_CA.
func TestContractModeTrustsTheGivenCA(t *testing.T) {
	own := &Harness{}
	if err := own.setupGatewayCA(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(file, own.GatewayCA(), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &Harness{Settings: settings.Settings{GatewayURL: "https://gw:8080", GatewayCA: file}}
	if err := h.setupGatewayCA(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if string(h.GatewayCA()) != string(own.GatewayCA()) {
		t.Error("the client does not trust E2E_GATEWAY_CA")
	}
	if _, err := h.IssueGatewayCertificate("x"); err == nil {
		t.Error("contract mode issued a certificate; the deployed gateway's is not the suite's")
	}
	bad := filepath.Join(t.TempDir(), "bad.crt")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o644)
	h = &Harness{Settings: settings.Settings{GatewayURL: "https://gw:8080", GatewayCA: bad}}
	if err := h.setupGatewayCA(context.Background(), nil); err == nil {
		t.Error("a CA file without a certificate was accepted")
	}
}

func TestReadVolumes(t *testing.T) {
	secret := corev1.Volume{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "kubernaut-gateway-tls"}}}
	empty := corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
	mount := func(name string) corev1.VolumeMount {
		return corev1.VolumeMount{Name: name, MountPath: "/var/run/" + name, ReadOnly: true}
	}
	for name, tc := range map[string]struct {
		volumes []corev1.Volume
		mounts  []corev1.VolumeMount
		wantErr string
	}{
		"the certificate's Secret": {volumes: []corev1.Volume{secret}, mounts: []corev1.VolumeMount{mount("tls")}},
		"no volume":                {wantErr: "mounts no Secret"},
		"another kind of volume":   {volumes: []corev1.Volume{secret, empty}, mounts: []corev1.VolumeMount{mount("tls"), mount("scratch")}, wantErr: "not a Secret"},
		"an undeclared volume":     {mounts: []corev1.VolumeMount{mount("tls")}, wantErr: "does not declare"},
	} {
		t.Run(name, func(t *testing.T) {
			d := &deployment{container: corev1.Container{VolumeMounts: tc.mounts}}
			err := d.readVolumes(&corev1.PodTemplateSpec{Spec: corev1.PodSpec{Volumes: tc.volumes}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("readVolumes = %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.tlsSecret != "kubernaut-gateway-tls" || d.tlsMount != "/var/run/tls" {
				t.Errorf("secret %q at %q, want kubernaut-gateway-tls at /var/run/tls", d.tlsSecret, d.tlsMount)
			}
		})
	}
}
