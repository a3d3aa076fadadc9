// Package pki makes the certificates the suite's TLS needs: a certificate authority, serving
// certificates for IP addresses and DNS names, and client certificates, all ECDSA P-256 in PEM.
// The fault proxy serves with one, the container's control plane uses a CA of its own, and the
// gateway's TLS serving certificate comes from IssueServing and WriteServing. It uses only the
// standard library, so that the container's launcher, built into an image FROM scratch, can too.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// clockSkew backdates every certificate, so that a peer whose clock is slightly behind accepts it.
const clockSkew = time.Hour

// CA is a certificate authority: its self-signed certificate and its key.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// NewCA makes a fresh CA named commonName, valid for validFor.
func NewCA(commonName string, validFor time.Duration) (*CA, error) {
	key, err := NewKey()
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: create the CA certificate %q: %w", commonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse the CA certificate %q: %w", commonName, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// CertPEM is the CA's certificate in PEM: what a client that must trust it is given.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// Write stores the CA in two files, the key first: a certificate without its key would make a
// later LoadCA fail.
func (ca *CA) Write(certPath, keyPath string) error {
	keyPEM, err := KeyPEM(ca.Key)
	if err != nil {
		return err
	}
	if err := WriteFile(keyPath, keyPEM); err != nil {
		return err
	}
	return WriteFile(certPath, ca.CertPEM())
}

// LoadCA reads a CA that Write stored.
func LoadCA(certPath, keyPath string) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	cert, err := ParseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", certPath, err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	key, err := ParseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("pki: %s: %w", keyPath, err)
	}
	return &CA{Cert: cert, Key: key}, nil
}

// Pair is a certificate the CA issued and its key, both PEM.
type Pair struct {
	CertPEM, KeyPEM []byte
}

// TLS is the pair as crypto/tls serves or presents it.
func (p Pair) TLS() (tls.Certificate, error) {
	c, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("pki: %w", err)
	}
	return c, nil
}

// Write stores the pair in two files, the key first.
func (p Pair) Write(certPath, keyPath string) error {
	if err := WriteFile(keyPath, p.KeyPEM); err != nil {
		return err
	}
	return WriteFile(certPath, p.CertPEM)
}

// IssueServing issues a serving certificate for hosts, each an IP address or a DNS name.
func (ca *CA) IssueServing(commonName string, hosts []string, validFor time.Duration) (Pair, error) {
	ips, dns := SplitHosts(hosts)
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName},
		DNSNames:    dns,
		IPAddresses: ips,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, validFor)
}

// IssueClient issues a client certificate; Kubernetes reads commonName as the user and
// organizations as its groups.
func (ca *CA) IssueClient(commonName string, organizations []string, validFor time.Duration) (Pair, error) {
	return ca.issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: organizations},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, validFor)
}

func (ca *CA) issue(tmpl *x509.Certificate, validFor time.Duration) (Pair, error) {
	key, err := NewKey()
	if err != nil {
		return Pair{}, err
	}
	serial, err := newSerial()
	if err != nil {
		return Pair{}, err
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-clockSkew), now.Add(validFor)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return Pair{}, fmt.Errorf("pki: issue %q: %w", tmpl.Subject.CommonName, err)
	}
	keyPEM, err := KeyPEM(key)
	if err != nil {
		return Pair{}, err
	}
	return Pair{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), KeyPEM: keyPEM}, nil
}

// Serving file names, as a Kubernetes TLS Secret names its keys.
const (
	ServingCertFile = "tls.crt"
	ServingKeyFile  = "tls.key"
)

// WriteServing issues a serving certificate for hosts and writes it into dir as tls.crt and
// tls.key, for a server that reads its certificate from files.
func WriteServing(dir string, ca *CA, commonName string, hosts []string, validFor time.Duration) error {
	pair, err := ca.IssueServing(commonName, hosts, validFor)
	if err != nil {
		return err
	}
	return pair.Write(filepath.Join(dir, ServingCertFile), filepath.Join(dir, ServingKeyFile))
}

// WriteProjected writes the pair into dir as tls.crt and tls.key the way a kubelet projects a TLS
// Secret into a volume: readable by any user (mode 0644), so that a container's non-root user
// reads them. Each file is replaced atomically, the key first, so that a server that reloads on
// change never reads a certificate with the old key for long; dir must be the suite's own.
func (p Pair) WriteProjected(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	// MkdirAll keeps an existing directory's mode, and the umask trims a new one's.
	if err := os.Chmod(dir, 0o755); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := writeFileMode(filepath.Join(dir, ServingKeyFile), p.KeyPEM, 0o644); err != nil {
		return err
	}
	return writeFileMode(filepath.Join(dir, ServingCertFile), p.CertPEM, 0o644)
}

// SplitHosts sorts hosts into IP addresses and DNS names, as a certificate lists them.
func SplitHosts(hosts []string) ([]net.IP, []string) {
	var ips []net.IP
	var dns []string
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ips = append(ips, ip)
		} else if h != "" {
			dns = append(dns, h)
		}
	}
	return ips, dns
}

// NewKey makes an ECDSA P-256 key.
func NewKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate a key: %w", err)
	}
	return key, nil
}

// KeyPEM encodes a key as an "EC PRIVATE KEY" PEM block.
func KeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("pki: encode a key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// PublicKeyPEM encodes the public half of a key as a "PUBLIC KEY" PEM block.
func PublicKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("pki: encode a public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParseKeyPEM reads what KeyPEM wrote.
func ParseKeyPEM(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseECPrivateKey(block.Bytes)
}

// ParseCertPEM reads the first certificate of a PEM file.
func ParseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// WriteFile writes data readable by its owner only, atomically: a reader never sees half a key.
func WriteFile(path string, data []byte) error {
	return writeFileMode(path, data, 0o600)
}

// writeFileMode writes data with mode (whatever the umask), atomically by a rename.
func writeFileMode(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}

func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("pki: certificate serial: %w", err)
	}
	return n, nil
}
