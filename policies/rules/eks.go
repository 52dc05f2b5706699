package rules

import (
	"slices"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// The EKS rules check both views of a cluster: the pulumi-eks component
// (eks:index:Cluster, all that the SDK's mocks see) and the aws:eks/cluster
// child it creates (what the CLI's analyzer also sees). Their inputs differ.
const (
	typeEKSComponent = "eks:index:Cluster"
	typeEKSCluster   = "aws:eks/cluster:Cluster"
)

var eksSecretsEncryption = Rule{
	ID: "eks-secrets-encryption",
	Description: "EKS encrypts Kubernetes secrets with KMS: encryptionConfigKeyArn on eks:index:Cluster; " +
		`encryptionConfig.resources contains "secrets" with encryptionConfig.provider.keyArn on aws:eks/cluster.`,
	Dev: Mandatory, Prod: Mandatory,
	Types: []string{typeEKSComponent, typeEKSCluster},
	Check: func(r inventory.Resource, _ Context) []Finding {
		const why = "Kubernetes secrets would be stored unencrypted in etcd"
		if r.Type == typeEKSComponent {
			return requireSet(r, "encryptionConfigKeyArn", why)
		}
		var out []Finding
		resources, st := r.StringsAt("encryptionConfig.resources")
		switch {
		case slices.Contains(resources, "secrets"):
		case st.Opaque():
			out = append(out, cannotVerify("encryptionConfig.resources", st))
		default:
			out = append(out, fail(`encryptionConfig.resources does not contain "secrets": %s`, why))
		}
		return append(out, requireSet(r, "encryptionConfig.provider.keyArn", why)...)
	},
}

// requiredLogTypes are the control-plane logs every cluster ships.
var requiredLogTypes = []string{"api", "audit", "authenticator"}

var eksControlPlaneLogging = Rule{
	ID:          "eks-control-plane-logging",
	Description: "EKS control-plane logs include " + strings.Join(requiredLogTypes, ", ") + " (enabledClusterLogTypes).",
	Dev:         Mandatory, Prod: Mandatory,
	Types: []string{typeEKSComponent, typeEKSCluster},
	Check: func(r inventory.Resource, _ Context) []Finding {
		enabled, st := r.StringsAt("enabledClusterLogTypes")
		var missing []string
		for _, t := range requiredLogTypes {
			if !slices.Contains(enabled, t) {
				missing = append(missing, t)
			}
		}
		switch {
		case len(missing) == 0:
			return nil
		case st.Opaque():
			return []Finding{cannotVerify("enabledClusterLogTypes", st)}
		}
		return []Finding{fail("enabledClusterLogTypes lacks %s: API calls to the cluster would not be audited",
			strings.Join(missing, ", "))}
	},
}

var eksEndpointRestricted = Rule{
	ID: "eks-endpoint-restricted",
	Description: "A public EKS API endpoint is restricted: when endpointPublicAccess is true (the default), " +
		"publicAccessCidrs is non-empty and contains neither 0.0.0.0/0 nor ::/0.",
	Dev: Mandatory, Prod: Mandatory,
	Types: []string{typeEKSComponent, typeEKSCluster},
	Check: func(r inventory.Resource, _ Context) []Finding {
		prefix := "" // eks:index:Cluster has the fields at the top level
		if r.Type == typeEKSCluster {
			prefix = "vpcConfig."
		}
		// Both pulumi-eks and AWS default to a public endpoint.
		public, st := r.BoolAt(prefix + "endpointPublicAccess")
		switch {
		case st.Opaque():
			return []Finding{cannotVerify(prefix+"endpointPublicAccess", st)}
		case st == inventory.StateKnown && !public:
			return nil
		}
		cidrs, st := r.StringsAt(prefix + "publicAccessCidrs")
		for _, c := range cidrs {
			if isWorld(c) {
				return []Finding{fail("the public API endpoint is open to %s (%spublicAccessCidrs)", c, prefix)}
			}
		}
		switch {
		case st.Opaque():
			return []Finding{cannotVerify(prefix+"publicAccessCidrs", st)}
		case len(cidrs) == 0:
			return []Finding{fail("the public API endpoint is open to 0.0.0.0/0: %s is not set; "+
				"restrict it or set %s to false", prefix+"publicAccessCidrs", prefix+"endpointPublicAccess")}
		}
		return nil
	},
}

// defaultNodeGroupClass is the instance type pulumi-eks gives the cluster's
// default node group when instanceType is not set.
const defaultNodeGroupClass = "t2.medium"

// eksDefaultNodeGroupClass returns the instance type of the default node
// group an eks:index:Cluster creates, or ok=false when it creates none.
func eksDefaultNodeGroupClass(r inventory.Resource) (class string, st inventory.State, ok bool) {
	if skip, sst := r.BoolAt("skipDefaultNodeGroup"); sst == inventory.StateKnown && skip {
		return "", inventory.StateKnown, false
	}
	// Fargate (any value but false) replaces the default node group.
	if v, fst := r.Lookup("fargate"); fst != inventory.StateAbsent && v != false {
		return "", inventory.StateKnown, false
	}
	class, st = r.StringAt("instanceType")
	if st == inventory.StateAbsent {
		return defaultNodeGroupClass, inventory.StateKnown, true
	}
	return class, st, true
}
