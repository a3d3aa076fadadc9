// Command burn keeps CPUs busy until it is stopped (or -for passes): the load of `make flake
// LOAD=1`, so that the suite is shown deterministic on a machine that is short of CPU, where
// scheduling delays expose timing assumptions (a fault window that closes before the gateway
// acts, a poll that assumes a quick answer).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"
)

func main() {
	cpus := flag.Int("cpus", runtime.NumCPU(), "busy goroutines, one per CPU to load")
	limit := flag.Duration("for", time.Hour, "stop after this long, whatever happens")
	flag.Parse()
	fmt.Fprintf(os.Stderr, "burn: keeping %d CPUs busy (pid %d) for at most %s\n", *cpus, os.Getpid(), *limit)
	for range *cpus {
		go func() {
			x := 0
			for {
				x++
			}
		}()
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	select {
	case <-stop:
	case <-time.After(*limit):
	}
}
