// Command platform is the company's Pulumi program. Under the Pulumi CLI it
// stands up a stack's AWS estate; with a subcommand it runs the offline tools
// (`review`, `preflight`, `prices refresh`; offline/cli).
package main

import (
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantco/platform/offline/cli"
	"github.com/tenantco/platform/stacks"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	pulumi.Run(stacks.Program)
}
