package rules

import (
	"fmt"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

const (
	typeRDSInstance       = "aws:rds/instance:Instance"
	typeRDSParameterGroup = "aws:rds/parameterGroup:ParameterGroup"
)

var rdsMultiAZ = Rule{
	ID:          "rds-multi-az",
	Description: "RDS instances run Multi-AZ (multiAz = true).",
	Dev:         Advisory, Prod: Mandatory,
	Types: []string{typeRDSInstance},
	Check: func(r inventory.Resource, _ Context) []Finding {
		return requireBool(r, "multiAz", true, false, "a single-AZ database goes down with its zone")
	},
}

var rdsStorageEncrypted = Rule{
	ID:          "rds-storage-encrypted",
	Description: "RDS storage is encrypted (storageEncrypted = true) with a customer-managed KMS key (kmsKeyId set).",
	Dev:         Mandatory, Prod: Mandatory,
	Types: []string{typeRDSInstance},
	Check: func(r inventory.Resource, _ Context) []Finding {
		return append(
			requireBool(r, "storageEncrypted", true, false, "database storage and snapshots are unencrypted"),
			requireSet(r, "kmsKeyId", "storage must be encrypted with the platform's KMS key, not the AWS-managed default")...)
	},
}

var rdsNotPublic = Rule{
	ID:          "rds-not-publicly-accessible",
	Description: "RDS instances are not publicly accessible (publiclyAccessible is not true).",
	Dev:         Mandatory, Prod: Mandatory,
	Types: []string{typeRDSInstance},
	Check: func(r inventory.Resource, _ Context) []Finding {
		return requireBool(r, "publiclyAccessible", false, false, "the database would get a public address")
	},
}

// minBackupRetentionDays is the shortest automated backup retention allowed.
const minBackupRetentionDays = 7

var rdsBackupRetention = Rule{
	ID:          "rds-backup-retention",
	Description: fmt.Sprintf("RDS automated backups are kept at least %d days (backupRetentionPeriod >= %d).", minBackupRetentionDays, minBackupRetentionDays),
	Dev:         Advisory, Prod: Mandatory,
	Types: []string{typeRDSInstance},
	Check: func(r inventory.Resource, _ Context) []Finding {
		n, st := r.NumberAt("backupRetentionPeriod")
		switch st {
		case inventory.StateUnknown, inventory.StateSecret:
			return []Finding{cannotVerify("backupRetentionPeriod", st)}
		case inventory.StateAbsent:
			return []Finding{fail("backupRetentionPeriod is not set (AWS default 1 day): need >= %d", minBackupRetentionDays)}
		}
		if n < minBackupRetentionDays {
			return []Finding{fail("backupRetentionPeriod is %g days: need >= %d", n, minBackupRetentionDays)}
		}
		return nil
	},
}

var rdsDeletionProtection = Rule{
	ID:          "rds-deletion-protection",
	Description: "RDS instances have deletionProtection = true and keep a final snapshot (skipFinalSnapshot is not true).",
	Dev:         Advisory, Prod: Mandatory,
	Types: []string{typeRDSInstance},
	Check: func(r inventory.Resource, _ Context) []Finding {
		return append(
			requireBool(r, "deletionProtection", true, false, "the database can be deleted by a single destroy"),
			requireBool(r, "skipFinalSnapshot", false, false, "deleting the database would leave no final snapshot")...)
	},
}

var rdsManagedCredentials = Rule{
	ID: "rds-managed-credentials",
	Description: "RDS master credentials are managed: manageMasterUserPassword = true (Secrets Manager) or " +
		"iamDatabaseAuthenticationEnabled = true, and no plaintext password input.",
	Dev: Mandatory, Prod: Mandatory,
	Types: []string{typeRDSInstance},
	Check: func(r inventory.Resource, _ Context) []Finding {
		var out []Finding
		managed, mst := r.BoolAt("manageMasterUserPassword")
		iam, ist := r.BoolAt("iamDatabaseAuthenticationEnabled")
		switch {
		case mst == inventory.StateKnown && managed || ist == inventory.StateKnown && iam:
		case mst.Opaque():
			out = append(out, cannotVerify("manageMasterUserPassword", mst))
		case ist.Opaque():
			out = append(out, cannotVerify("iamDatabaseAuthenticationEnabled", ist))
		default:
			out = append(out, fail("neither manageMasterUserPassword nor iamDatabaseAuthenticationEnabled is true: "+
				"the master password would be a static credential"))
		}
		// A secret password (pulumi.ToSecret, a random password) is allowed
		// with IAM authentication, which still needs a master password.
		if _, st := r.StringAt("password"); st == inventory.StateKnown {
			out = append(out, fail("password is set in plaintext: use manageMasterUserPassword, or at least a secret"))
		}
		return out
	},
}

var rdsForceSSL = Rule{
	ID: "rds-force-ssl",
	Description: "PostgreSQL parameter groups set rds.force_ssl = 1, and every RDS instance uses a non-default " +
		"parameter group (parameterGroupName not default.*) that forces SSL.",
	Dev: Mandatory, Prod: Mandatory,
	Types: []string{typeRDSInstance, typeRDSParameterGroup},
	Check: func(r inventory.Resource, _ Context) []Finding {
		if r.Type == typeRDSParameterGroup {
			return parameterGroupForcesSSL(r)
		}
		name, st := r.StringAt("parameterGroupName")
		switch {
		case st.Opaque():
			return []Finding{cannotVerify("parameterGroupName", st)}
		case st == inventory.StateAbsent:
			return []Finding{fail("parameterGroupName is not set: the engine's default parameter group does not force SSL")}
		case strings.HasPrefix(name, "default."):
			return []Finding{fail("parameterGroupName %q is a default parameter group, which does not force SSL", name)}
		}
		return nil
	},
	// The cross-resource half: the group an instance names must be one of
	// this stack's groups, and it must force SSL.
	CheckStack: func(rs []inventory.Resource, _ Settings) ([]Finding, error) {
		var groups []inventory.Resource
		for _, r := range rs {
			if r.Type == typeRDSParameterGroup {
				groups = append(groups, r)
			}
		}
		var out []Finding
		for _, r := range rs {
			if r.Type != typeRDSInstance {
				continue
			}
			name, st := r.StringAt("parameterGroupName")
			if st != inventory.StateKnown || strings.HasPrefix(name, "default.") {
				continue // reported by the resource check
			}
			g, ok := parameterGroupNamed(groups, name)
			if !ok {
				out = append(out, Finding{URN: r.URN, Advisory: true, Message: fmt.Sprintf(
					"cannot verify: parameter group %q is not managed in this stack, so rds.force_ssl is unknown", name)})
				continue
			}
			if len(parameterGroupForcesSSL(g)) > 0 {
				out = append(out, Finding{URN: r.URN, Message: fmt.Sprintf(
					"uses parameter group %q, which does not set rds.force_ssl = 1", name)})
			}
		}
		return out, nil
	},
}

// parameterGroupNamed finds the group whose physical name is name: by its
// name input, or, for an autonamed group (no name input, as the SDK's mocks
// record it), by Pulumi's autoname "<resource name>-<suffix>" when exactly
// one group fits.
func parameterGroupNamed(groups []inventory.Resource, name string) (inventory.Resource, bool) {
	var auto []inventory.Resource
	for _, g := range groups {
		switch n, st := g.StringAt("name"); st {
		case inventory.StateKnown:
			if n == name {
				return g, true
			}
		case inventory.StateAbsent:
			if strings.HasPrefix(name, g.Name+"-") {
				auto = append(auto, g)
			}
		}
	}
	if len(auto) == 1 {
		return auto[0], true
	}
	return inventory.Resource{}, false
}

// parameterGroupForcesSSL checks a parameter group: a postgres family must
// set rds.force_ssl = 1; other families pass.
func parameterGroupForcesSSL(r inventory.Resource) []Finding {
	family, st := r.StringAt("family")
	switch {
	case st.Opaque():
		return []Finding{cannotVerify("family", st)}
	case !strings.HasPrefix(family, "postgres"):
		return nil
	}
	params, st := r.ListAt("parameters")
	if st.Opaque() {
		return []Finding{cannotVerify("parameters", st)}
	}
	unknownParam := false
	for i, p := range params {
		name, nst := inventory.Walk(p, "name")
		if nst.Opaque() {
			unknownParam = true
			continue
		}
		if name != "rds.force_ssl" {
			continue
		}
		value, vst := inventory.Walk(p, "value")
		switch {
		case vst.Opaque():
			return []Finding{cannotVerify(fmt.Sprintf("parameters.%d.value", i), vst)}
		case fmt.Sprint(value) == "1":
			return nil
		default:
			return []Finding{fail("rds.force_ssl is %v: must be 1 so clients cannot connect without TLS", value)}
		}
	}
	if unknownParam {
		return []Finding{Unverified("parameters")}
	}
	return []Finding{fail("postgres parameter group (family %s) does not set rds.force_ssl = 1", family)}
}
