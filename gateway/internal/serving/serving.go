// Package serving opens the gateway's listener: TLS with a certificate that is reloaded from its
// files when they change (a cert-manager renewal rewrites the Secret's tls.crt and tls.key), or
// plain HTTP when no certificate is given. Signals and /metrics carry bearer tokens, so TLS is the
// deployed form; plain HTTP is for a gateway reached only over loopback.
package serving

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
)

// Schemes of a listener, as a URL spells them.
const (
	SchemeHTTPS = "https"
	SchemeHTTP  = "http"
)

// PlainHTTPWarning is logged at start when the gateway serves plain HTTP.
const PlainHTTPWarning = "serving plain HTTP: bearer tokens cross the network in clear; give --tls-cert-file and --tls-private-key-file"

// Options says where and how to listen.
type Options struct {
	// Addr is the TCP address (":8443", "127.0.0.1:0").
	Addr string
	// CertFile and KeyFile are the PEM certificate (chain) and private key; both or neither.
	CertFile, KeyFile string
	// ReloadInterval is how often the files are read again besides the file-system events that
	// trigger a read (which a Secret volume's symlink swap does not always deliver); 0 means
	// certwatcher's default (10 s).
	ReloadInterval time.Duration
	// Logger receives reload failures; nil means slog.Default.
	Logger *slog.Logger
}

// Listener is an open listener and the scheme it speaks.
type Listener struct {
	net.Listener
	Scheme string
}

// Listen opens opts.Addr. With a certificate it answers TLS 1.2 or later with the certificate
// currently in the files: they are read once now (an unreadable or mismatched pair fails Listen)
// and again whenever they change, until ctx ends; each handshake takes the latest pair, so a
// rotation needs no restart and leaves established connections as they are. A later unreadable
// pair is logged and the previous certificate kept.
func Listen(ctx context.Context, opts Options) (*Listener, error) {
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return nil, errors.New("a certificate needs both its file and its private key file")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	var tlsConfig *tls.Config
	if opts.CertFile != "" {
		watcher, err := certwatcher.New(opts.CertFile, opts.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load the serving certificate %s with key %s: %w", opts.CertFile, opts.KeyFile, err)
		}
		if opts.ReloadInterval > 0 {
			watcher = watcher.WithWatchInterval(opts.ReloadInterval)
		}
		go func() {
			if err := watcher.Start(ctx); err != nil {
				log.Error("the serving certificate is no longer watched; rotations need a restart",
					"cert_file", opts.CertFile, "error", err.Error())
			}
		}()
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: watcher.GetCertificate}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", opts.Addr, err)
	}
	if tlsConfig == nil {
		return &Listener{Listener: ln, Scheme: SchemeHTTP}, nil
	}
	return &Listener{Listener: tls.NewListener(ln, tlsConfig), Scheme: SchemeHTTPS}, nil
}
