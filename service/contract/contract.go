// Package contract is the service's side of its contract with the platform
// that deploys it: given the command line and the environment a container
// gets, it runs the very loader that command runs at start and reports which
// variables it read. The platform's tests feed it what the Pulumi program
// registers for every container, so a variable the service requires and the
// platform forgets, or one the platform sets and nothing reads, fails before
// a deploy does.
//
// It lives outside service/internal so the platform's cross-package tests can
// import it; it exposes nothing but this check.
package contract

import (
	"fmt"
	"path"
	"slices"
	"sort"

	"github.com/tenantco/platform/service/internal/bootstrap"
	"github.com/tenantco/platform/service/internal/config"
	"github.com/tenantco/platform/service/internal/costreport"
)

// runtimeVars are read by every Go binary's runtime, not by our loaders.
var runtimeVars = []string{"GOMEMLIMIT", "GOMAXPROCS", "GOGC", "GODEBUG"}

// awsSDKVars are read by the AWS SDK's default configuration chain in the
// commands that build AWS clients (IRSA injects the web identity ones).
var awsSDKVars = []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_STS_REGIONAL_ENDPOINTS"}

// Check validates env for the command argv (e.g. ["/usr/local/bin/tenantd",
// "serve"]) with the loader that command uses, and returns the variables it
// read, sorted. An unknown command is an error.
func Check(argv []string, env map[string]string) (read []string, err error) {
	seen := map[string]bool{}
	getenv := func(k string) string { seen[k] = true; return env[k] }
	if len(argv) == 0 {
		return nil, fmt.Errorf("contract: empty command")
	}
	usesAWS := false
	switch bin, sub := path.Base(argv[0]), subcommand(argv); {
	case bin == "tenantd" && (sub == "serve" || sub == "migrate" || sub == "reconcile"):
		_, err = config.Load(getenv)
	case bin == "tenantd" && sub == "bootstrap":
		_, err = bootstrap.LoadEnv(getenv)
		usesAWS = true
	case bin == "costreport":
		_, err = costreport.LoadEnv(getenv, slices.Contains(argv[1:], "-dry-run"))
		usesAWS = true
	default:
		return nil, fmt.Errorf("contract: no loader for command %q", argv)
	}
	for _, k := range runtimeVars {
		seen[k] = true
	}
	if usesAWS {
		for _, k := range awsSDKVars {
			seen[k] = true
		}
	}
	for k := range seen {
		read = append(read, k)
	}
	sort.Strings(read)
	return read, err
}

// subcommand is tenantd's first non-flag argument, "serve" when none.
func subcommand(argv []string) string {
	if len(argv) > 1 && argv[1] != "" && argv[1][0] != '-' {
		return argv[1]
	}
	return "serve"
}
