package cost

import (
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// CI: the CodeBuild project that hosts the deploy pipeline's GitHub Actions
// runner inside the VPC. CodeBuild bills build minutes by compute type and
// nothing while idle; the webhook and its connection are free.

// codebuildComputeSizes maps a CodeBuild compute type to its price row
// suffix (codebuild.linux.<size>).
var codebuildComputeSizes = map[string]string{
	"BUILD_GENERAL1_SMALL":  "small",
	"BUILD_GENERAL1_MEDIUM": "medium",
	"BUILD_GENERAL1_LARGE":  "large",
}

func (e *estimator) codebuildProject(r *inventory.Resource) {
	envType, st := r.StringAt("environment.type")
	if st != inventory.StateKnown {
		e.cannot(r, "CodeBuild environment type", notKnown(st))
		return
	}
	compute, st := r.StringAt("environment.computeType")
	if st != inventory.StateKnown {
		e.cannot(r, "CodeBuild compute type", notKnown(st))
		return
	}
	size, ok := codebuildComputeSizes[compute]
	if envType != "LINUX_CONTAINER" || !ok {
		key := "codebuild." + strings.ToLower(envType) + "." + strings.ToLower(compute)
		e.errs = append(e.errs, &MissingPriceError{Type: r.Type, Name: name(r), URN: r.URN,
			What: "CodeBuild environment", Value: envType + " " + compute, Key: key})
		return
	}
	p, ok := e.rate(r, "codebuild.linux."+size, "price", "CodeBuild "+compute)
	if !ok {
		return
	}
	e.add(r, "build minutes ("+compute+")", e.u.CIRunnerMinutes, "minutes", p.Price, true)
	e.assumptions["ciRunner"] = "the CI runner's downloads (Go modules, base images) go through the NAT gateway and are part of natDataGbPerGateway; " +
		"its logs are part of the log usage"
}
