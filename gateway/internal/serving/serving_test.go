package serving

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// issuer is a CA that signs serving certificates for 127.0.0.1.
type issuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newIssuer(t *testing.T, name string) *issuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &issuer{cert: cert, key: key, pool: pool}
}

// write issues a certificate for 127.0.0.1 and writes it and its key where a Secret volume
// would put tls.crt and tls.key, each replaced whole (written aside, then renamed over).
func (i *issuer) write(t *testing.T, dir string, serial int64) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "gateway"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, i.cert, &key.PublicKey, i.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	replace := func(name string, block *pem.Block) {
		tmp := filepath.Join(dir, "."+name+".tmp")
		require.NoError(t, os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, name)))
	}
	replace("tls.key", &pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	replace("tls.crt", &pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// serveTLS serves a handler that counts its requests over Listen with the files in dir.
func serveTLS(t *testing.T, dir string) (addr string, handled *atomic.Int64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ln, err := Listen(ctx, Options{Addr: "127.0.0.1:0", CertFile: filepath.Join(dir, "tls.crt"),
		KeyFile: filepath.Join(dir, "tls.key"), ReloadInterval: 50 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, SchemeHTTPS, ln.Scheme)
	handled = &atomic.Int64{}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		handled.Add(1)
		_, _ = io.WriteString(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), handled
}

func client(pool *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
}

// get fetches url and reports whether its connection was reused.
func get(c *http.Client, url string) (status int, reused bool, err error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, false, err
	}
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	resp, err := c.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, reused, nil
}

func TestServesTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newIssuer(t, "ca")
	ca.write(t, dir, 2)
	addr, handled := serveTLS(t, dir)

	status, _, err := get(client(ca.pool), "https://"+addr+"/healthz")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)

	// TLS 1.1 is refused.
	_, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool, MaxVersion: tls.VersionTLS11}) //nolint:gosec // the point of the test
	require.Error(t, err)

	// A client that does not trust the CA fails the handshake: nothing is processed.
	_, _, err = get(client(newIssuer(t, "other").pool), "https://"+addr+"/healthz")
	require.Error(t, err)
	var unknown x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &unknown)

	// Plain HTTP to the TLS port is refused with 400 before any handler runs.
	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, strings.ToLower(string(body)), "client sent an http request to an https server")
	assert.EqualValues(t, 1, handled.Load(), "only the trusted client's request was handled")
}

// A renewal replaces the files: new connections get the new certificate, without a restart, and
// a keep-alive connection made before it goes on working.
func TestRotation(t *testing.T) {
	dir := t.TempDir()
	oldCA, newCA := newIssuer(t, "old"), newIssuer(t, "new")
	oldCA.write(t, dir, 2)
	addr, _ := serveTLS(t, dir)
	url := "https://" + addr + "/healthz"

	kept := client(oldCA.pool)
	status, _, err := get(kept, url)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	newCA.write(t, dir, 3)
	require.Eventually(t, func() bool {
		fresh := client(newCA.pool)
		defer fresh.CloseIdleConnections()
		status, _, err := get(fresh, url)
		return err == nil && status == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond, "new connections get the new certificate")

	status, reused, err := get(kept, url)
	require.NoError(t, err, "the connection made before the rotation still works")
	assert.Equal(t, http.StatusOK, status)
	assert.True(t, reused, "it is the same connection")

	// And a new connection that trusts only the old CA now fails: the old certificate is gone.
	_, _, err = get(client(oldCA.pool), url)
	require.Error(t, err)
}

func TestPlainWithoutCertificate(t *testing.T) {
	ln, err := Listen(context.Background(), Options{Addr: "127.0.0.1:0"})
	require.NoError(t, err)
	defer ln.Close()
	assert.Equal(t, SchemeHTTP, ln.Scheme)
}

func TestListenErrors(t *testing.T) {
	dir := t.TempDir()
	_, err := Listen(context.Background(), Options{Addr: "127.0.0.1:0", CertFile: filepath.Join(dir, "tls.crt")})
	require.Error(t, err, "a certificate without its key")
	_, err = Listen(context.Background(), Options{Addr: "127.0.0.1:0",
		CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")})
	require.ErrorContains(t, err, "load the serving certificate", "missing files fail at start, not at the first handshake")
}
