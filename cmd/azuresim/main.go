// Command azuresim runs the Azure API emulator standalone (sandbox mode).
// See package azuresim for what it emulates; `xdrlinkd sim` runs the same.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/xdrlink/xdrlink/azuresim"
)

func main() {
	var cfg azuresim.RunConfig
	cfg.RegisterFlags(flag.CommandLine)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := azuresim.Run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
