// Package cli implements the program's offline subcommands.
package cli

import (
	"fmt"
	"io"
)

// Main runs a subcommand and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "unknown command %q\n", args[0])
	return 2
}
