package faultproxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// BenchmarkForward measures what the proxy adds to each API call the gateway makes: TLS on both
// sides, request classification, rule matching against faults of other scenarios, and recording.
func BenchmarkForward(b *testing.B) {
	for _, rules := range []int{0, 100} {
		b.Run(fmt.Sprintf("rules=%d", rules), func(b *testing.B) {
			p := startProxy(b, newFakeAPI(b))
			for i := 0; i < rules; i++ {
				mustAddRule(b, p, Rule{Match: Match{Verb: VerbCreate, Namespace: fmt.Sprintf("other-%d", i)}, Action: Status{Code: 503}})
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(p.CAData())
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
			url := p.URL() + fmt.Sprintf(rrPath, "bench")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, err := c.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
