// Command pack is the platform's Pulumi policy pack:
//
//	pulumi preview --policy-pack policies/pack
//
// The CLI (v3.274.1) starts it through PulumiPolicy.yaml (runtime: go) and
// talks to it over the analyzer gRPC protocol: the binary listens on a free
// local port, prints the port on stdout and serves until the engine stops it.
// The rules are policies/rules; see analyzer.go and policies/README.md.
//
// The pack implements the analyzer service itself rather than through the
// SDK's experimental policyx: a policyx policy reports every violation at one
// enforcement level, while the rules need a level per finding (a cost warning
// is advisory inside the mandatory cost-ceiling rule, a value unknown during
// preview is advisory inside a mandatory security rule), and policyx also
// dereferences its pack before ConfigureStack (pulumi policy analyze/publish).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

func main() {
	if err := serve(os.Stdout, nil); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", packName, err)
		os.Exit(1)
	}
}

// serve runs the analyzer until the engine stops it (or cancel is closed),
// after writing the port it listens on to stdout, as the plugin protocol
// requires. Nothing else may go to stdout.
func serve(stdout io.Writer, cancel chan bool) error {
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterAnalyzerServer(srv, newAnalyzer())
			return nil
		},
	})
	if err != nil {
		return fmt.Errorf("serve analyzer: %w", err)
	}
	if _, err := fmt.Fprintf(stdout, "%d\n", handle.Port); err != nil {
		return err
	}
	return <-handle.Done
}
