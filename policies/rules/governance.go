package rules

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tenantco/platform/internal/inventory"
)

// untaggable (untaggable_gen.go) comes from the pulumi-aws SDK in go.mod.
//go:generate go run gen_untaggable.go

// RequiredTags are the tag keys every taggable AWS resource carries, on
// itself or through its provider's defaultTags.
var RequiredTags = []string{"cost-center", "owner", "environment"}

var requiredTags = Rule{
	ID: "required-tags",
	Description: "Every taggable aws: resource has non-empty tags " + strings.Join(RequiredTags, ", ") +
		", in its own tags or in its provider's defaultTags.tags.",
	Dev: Mandatory, Prod: Mandatory,
	Types: []string{"aws:*"},
	Check: func(r inventory.Resource, c Context) []Finding {
		if untaggable[r.Type] {
			return nil
		}
		var defaults map[string]any
		defaultsUnknown := false
		if c.Provider != nil {
			// The engine may hand a provider's nested config over as JSON text.
			v, st := inventory.Walk(decodeJSONString(c.Provider.Inputs["defaultTags"]), "tags")
			defaults, _ = decodeJSONString(v).(map[string]any)
			defaultsUnknown = st.Opaque()
		}
		if _, st := r.Lookup("tags"); st.Opaque() {
			return []Finding{cannotVerify("tags", st)}
		}
		var missing, unverified []string
		for _, key := range RequiredTags {
			v, st := r.Lookup("tags." + key)
			if st == inventory.StateAbsent {
				v, st = inventory.Classify(defaults[key])
				if st == inventory.StateAbsent && defaultsUnknown {
					st = inventory.StateUnknown
				}
			}
			switch {
			case st == inventory.StateUnknown:
				unverified = append(unverified, key)
			case st == inventory.StateAbsent || v == "":
				missing = append(missing, key)
			}
		}
		var out []Finding
		if len(missing) > 0 {
			out = append(out, fail("missing required tags %s (neither in the resource's tags nor in its provider's defaultTags)",
				strings.Join(missing, ", ")))
		}
		if len(unverified) > 0 {
			out = append(out, Unverified("tags "+strings.Join(unverified, ", ")))
		}
		return out
	},
}

// allowedClasses lists, per environment, the instance classes that may be
// used: EC2 types for nodes and launch templates, db.* for RDS, cache.* for
// ElastiCache. Prod may use everything dev may, plus larger classes.
var allowedClasses = func() map[string][]string {
	dev := []string{
		"t3.medium", "t3.large", "t4g.medium", "t4g.large",
		"db.t4g.micro", "db.t4g.small", "db.t4g.medium", "db.t4g.large",
		"cache.t4g.micro", "cache.t4g.small", "cache.t4g.medium",
	}
	prod := append(slices.Clone(dev),
		"m6i.large", "m6i.xlarge", "m7i.large", "m6g.large", "m7g.large",
		"db.m6g.large", "db.m6g.xlarge", "db.m7g.large", "db.m7g.xlarge", "db.r6g.large", "db.r6g.xlarge",
		"cache.m6g.large", "cache.m6g.xlarge", "cache.r7g.large",
	)
	return map[string][]string{Dev: dev, Prod: prod}
}()

// AllowedClasses returns the instance classes allowed in env; environments
// other than dev get the prod list.
func AllowedClasses(env string) []string {
	if env == Dev {
		return slices.Clone(allowedClasses[Dev])
	}
	return slices.Clone(allowedClasses[Prod])
}

// classFields says where each resource type names its instance class(es).
var classFields = map[string]string{
	typeRDSInstance:                   "instanceClass",
	typeReplicationGroup:              "nodeType",
	"aws:elasticache/cluster:Cluster": "nodeType",
	"eks:index:ManagedNodeGroup":      "instanceTypes",
	"aws:eks/nodeGroup:NodeGroup":     "instanceTypes",
	typeLaunchTemplate:                "instanceType",
	typeEC2Instance:                   "instanceType",
	typeEKSComponent:                  "instanceType", // its default node group
}

var instanceClassAllowed = Rule{
	ID: "instance-class-allowed",
	Description: "Instance classes come from the environment's allow-list (RDS instanceClass, ElastiCache nodeType, " +
		"node group instanceTypes, launch template and instance instanceType, the eks:index:Cluster default node group).",
	Dev: Mandatory, Prod: Mandatory,
	Types: func() []string {
		ts := make([]string, 0, len(classFields))
		for t := range classFields {
			ts = append(ts, t)
		}
		slices.Sort(ts)
		return ts
	}(),
	Check: func(r inventory.Resource, c Context) []Finding {
		field := classFields[r.Type]
		var classes []string
		var st inventory.State
		if r.Type == typeEKSComponent {
			class, cst, ok := eksDefaultNodeGroupClass(r)
			if !ok {
				return nil
			}
			classes, st = []string{class}, cst
			field = "instanceType (default node group; set skipDefaultNodeGroup to create none)"
		} else {
			// Absent: the type's default applies (node groups: t3.medium),
			// or a launch template leaves the choice to its node group.
			classes, st = r.StringsAt(field)
		}
		allowed := AllowedClasses(c.Environment)
		var out []Finding
		for _, class := range classes {
			if class == inventory.Secret || slices.Contains(allowed, class) {
				continue
			}
			out = append(out, fail("%s %s is not allowed in %s; allowed: %s",
				field, class, envName(c.Environment), strings.Join(sameFamily(allowed, class), ", ")))
		}
		if st.Opaque() {
			out = append(out, cannotVerify(strings.Fields(field)[0], st))
		}
		return out
	},
}

// sameFamily keeps the classes of class's family: db.*, cache.* or EC2.
func sameFamily(classes []string, class string) []string {
	family := func(c string) string {
		for _, p := range []string{"db.", "cache."} {
			if strings.HasPrefix(c, p) {
				return p
			}
		}
		return ""
	}
	var out []string
	for _, c := range classes {
		if family(c) == family(class) {
			out = append(out, c)
		}
	}
	return out
}

func envName(env string) string {
	if env == Dev || env == Prod {
		return env
	}
	return fmt.Sprintf("%q (checked as prod)", env)
}

const typeLogGroup = "aws:cloudwatch/logGroup:LogGroup"

var logGroupRetention = Rule{
	ID:          "log-group-retention",
	Description: "CloudWatch log groups expire their logs (retentionInDays > 0).",
	Dev:         Mandatory, Prod: Mandatory,
	Types: []string{typeLogGroup},
	Check: func(r inventory.Resource, _ Context) []Finding {
		n, st := r.NumberAt("retentionInDays")
		switch {
		case st.Opaque():
			return []Finding{cannotVerify("retentionInDays", st)}
		case st == inventory.StateAbsent || n <= 0:
			return []Finding{fail("retentionInDays is not set: the logs would be kept, and paid for, forever")}
		}
		return nil
	},
}
