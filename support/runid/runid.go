// Package runid names one run of the suite or of one of its tools: the id that labels its
// namespaces, containers, networks and clusters, so that a run finds its own and a sweep finds a
// crashed run's leftovers. It is short and lowercase base36, so that it goes into Kubernetes
// names, label values and Docker names unchanged.
package runid

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"
	"strings"
	"time"
)

// New returns a fresh 8-character lowercase base36 run id: three characters of the clock
// (seconds, wrapping every ~13 hours) and five random ones (60 million values). The clock part
// keeps runs apart even with a poor random source, and the random part keeps parallel processes
// started in the same second apart.
func New() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	random := binary.LittleEndian.Uint64(b[:])
	clock := uint64(time.Now().Unix())
	return base36(clock, 3) + base36(random, 5)
}

// base36 renders the low digits of v as exactly n base36 digits.
func base36(v uint64, n int) string {
	var span uint64 = 1
	for range n {
		span *= 36
	}
	s := strconv.FormatUint(v%span, 36)
	return strings.Repeat("0", n-len(s)) + s
}
