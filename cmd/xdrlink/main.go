// Command xdrlink is the operators' command line for xdrlinkd: see
// internal/cli for the commands.
package main

import (
	"os"

	"github.com/xdrlink/xdrlink/internal/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
