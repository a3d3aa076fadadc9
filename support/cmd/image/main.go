// Command image builds the gateway's container image from this checkout (`make image`): a static
// binary on an empty base, reproducible, tagged kubernaut-gateway:<commit>[-dirty] (see
// support/image). With -load it puts the image into the local Docker engine under that tag and
// kubernaut-gateway:latest, the name gateway/config/default uses; with -archive it writes a
// docker-save tarball for `docker load -i` or `kind load image-archive`. It prints the tag and
// the digest.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/kubernaut/gateway-contract/support/image"
)

func main() {
	fs := flag.NewFlagSet("image", flag.ExitOnError)
	archive := fs.String("archive", "", "write the image as a docker-save tarball to this file")
	load := fs.Bool("load", false, "load the image into the local Docker engine (DOCKER_HOST, else the default socket)")
	arch := fs.String("arch", "", "GOARCH to build for (default: this machine's)")
	_ = fs.Parse(os.Args[1:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *archive, *load, *arch); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, archive string, load bool, arch string) error {
	start := time.Now()
	gw, err := image.Build(ctx, image.Options{Arch: arch})
	if err != nil {
		return err
	}
	fmt.Printf("image: built %s (digest %s) in %s\n", gw.Tag, gw.Digest, time.Since(start).Round(100*time.Millisecond))
	if gw.Dirty {
		fmt.Println("image: the checkout has uncommitted changes, so the tag says -dirty")
	}
	tags := []string{gw.Tag, image.LatestTag}
	if archive != "" {
		if err := os.MkdirAll(filepath.Dir(archive), 0o755); err != nil {
			return fmt.Errorf("archive directory: %w", err)
		}
		if err := image.WriteArchive(archive, gw.Image, tags...); err != nil {
			return err
		}
		fmt.Printf("image: wrote %s (tags %s, %s)\n", archive, tags[0], tags[1])
	}
	if load {
		docker, err := image.Engine(ctx)
		if errors.Is(err, image.ErrNoEngine) {
			return fmt.Errorf("%w; or write a file with -archive instead of -load", err)
		}
		if err != nil {
			return err
		}
		defer docker.Close()
		if err := image.Load(ctx, docker, gw.Image, tags...); err != nil {
			return err
		}
		fmt.Printf("image: loaded into the Docker engine as %s and %s\n", tags[0], tags[1])
	}
	return nil
}
