package rules

import "github.com/tenantco/platform/internal/inventory"

const typeReplicationGroup = "aws:elasticache/replicationGroup:ReplicationGroup"

var cacheTransitEncryption = Rule{
	ID:          "elasticache-transit-encryption",
	Description: "ElastiCache replication groups encrypt traffic (transitEncryptionEnabled = true).",
	Dev:         Mandatory, Prod: Mandatory,
	Types: []string{typeReplicationGroup},
	Check: func(r inventory.Resource, _ Context) []Finding {
		return requireBool(r, "transitEncryptionEnabled", true, false, "clients would talk to Redis in cleartext")
	},
}

var cacheAtRestEncryption = Rule{
	ID:          "elasticache-at-rest-encryption",
	Description: "ElastiCache replication groups encrypt data at rest (atRestEncryptionEnabled = true).",
	Dev:         Mandatory, Prod: Mandatory,
	Types: []string{typeReplicationGroup},
	Check: func(r inventory.Resource, _ Context) []Finding {
		return requireBool(r, "atRestEncryptionEnabled", true, false, "snapshots and swap would be unencrypted")
	},
}

var cacheAuthToken = Rule{
	ID:          "elasticache-auth-token",
	Description: "ElastiCache replication groups require an AUTH token (authToken set; it is a secret).",
	Dev:         Mandatory, Prod: Mandatory,
	Types: []string{typeReplicationGroup},
	Check: func(r inventory.Resource, _ Context) []Finding {
		return requireSet(r, "authToken", "any client in the network could use Redis without a password")
	},
}

var cacheAutomaticFailover = Rule{
	ID: "elasticache-automatic-failover",
	Description: "ElastiCache replication groups fail over automatically across zones: automaticFailoverEnabled = true, " +
		"multiAzEnabled = true and at least 2 nodes (numCacheClusters >= 2).",
	Dev: Advisory, Prod: Mandatory,
	Types: []string{typeReplicationGroup},
	Check: func(r inventory.Resource, _ Context) []Finding {
		out := append(
			requireBool(r, "automaticFailoverEnabled", true, false, "losing the primary loses the cache"),
			requireBool(r, "multiAzEnabled", true, false, "all nodes may sit in one zone")...)
		// Cluster-mode groups give replicasPerNodeGroup instead.
		n, st := r.NumberAt("numCacheClusters")
		if st == inventory.StateAbsent {
			if replicas, rst := r.NumberAt("replicasPerNodeGroup"); rst != inventory.StateAbsent {
				n, st = replicas+1, rst
			}
		}
		switch {
		case st.Opaque():
			out = append(out, cannotVerify("numCacheClusters", st))
		case st == inventory.StateAbsent:
			out = append(out, fail("numCacheClusters is not set (default 1): need >= 2 nodes for failover"))
		case n < 2:
			out = append(out, fail("numCacheClusters is %g: need >= 2 nodes for failover", n))
		}
		return out
	},
}
