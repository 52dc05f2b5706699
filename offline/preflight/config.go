package preflight

import (
	"fmt"
	"strings"

	"github.com/tenantco/platform/stacks"
)

// checkIdentity: the credentials reach the account the stack expects.
// GetCallerIdentity already ran (Run); this judges its answer.
func checkIdentity(e *env) []Finding {
	where := fmt.Sprintf("account %s, region %s (%s:region), caller %s", e.account, e.cfg.Region, stacks.Namespace, e.caller)
	switch {
	case e.cfg.AccountID == "":
		return []Finding{warn(fmt.Sprintf("pin the stack to it: pulumi config set %s:accountId %s", stacks.Namespace, e.account),
			"%s; %s:accountId is not set, so nothing stops a deploy with another account's credentials", where, stacks.Namespace)}
	case e.cfg.AccountID != e.account:
		return []Finding{fail(fmt.Sprintf("use credentials of account %s (aws sso login --profile <its profile>; export AWS_PROFILE=<its profile>), "+
			"or correct %s:accountId if the stack moved", e.cfg.AccountID, stacks.Namespace),
			"%s, but the stack deploys into %s (%s:accountId): every other check read the wrong account", where, e.cfg.AccountID, stacks.Namespace)}
	}
	return []Finding{pass("account %s is %s:accountId; region %s (%s:region), caller %s", e.account, stacks.Namespace, e.cfg.Region, stacks.Namespace, e.caller)}
}

// listKeys are the keys whose values are lists (set item by item).
var listKeys = map[string]bool{"alertEmails": true, "clusterPublicAccessCidrs": true, "clusterAdminArns": true}

// ownKeys are the keys whose placeholders a dedicated check reports.
var ownKeys = []string{"certificateArn", "alertEmails", "runnerGithubCredentialArn"}

// placeholders returns the config's documentation placeholders for keys
// (all keys but ownKeys when none are given), as FAIL findings: the program
// refuses them in `pulumi preview` and `pulumi up`.
func placeholders(cfg *stacks.Config, keys ...string) []Finding {
	var out []Finding
	for _, p := range cfg.Placeholders() {
		key, _, _ := strings.Cut(strings.TrimPrefix(p, stacks.Namespace+":"), ":")
		mine := len(keys) == 0
		for _, k := range ownKeys {
			if k == key {
				mine = false
			}
		}
		for _, k := range keys {
			if k == key {
				mine = true
			}
		}
		if mine {
			target := stacks.Namespace + ":" + key
			if listKeys[key] {
				target = fmt.Sprintf("--path '%s[0]'", target) // and [1], ... for more items
			}
			out = append(out, fail(fmt.Sprintf("pulumi config set %s <the real value> (`pulumi preview` and `up` refuse this one before creating anything)", target),
				"%s", p))
		}
	}
	return out
}

// checkPlaceholders: values copied from the documentation that the program
// refuses before registering anything.
func checkPlaceholders(e *env) []Finding {
	if fs := placeholders(e.cfg); len(fs) > 0 {
		return fs
	}
	return []Finding{pass("no documentation placeholders (example accounts, reserved names, RFC 5737 networks)")}
}

// checkAlerts: someone receives the budget alerts, once they confirm.
func checkAlerts(e *env) []Finding {
	if fs := placeholders(e.cfg, "alertEmails"); len(fs) > 0 {
		return fs
	}
	return []Finding{pass("%d address(es) in %s:alertEmails (%s); each gets an AWS Notifications mail after the first deploy and "+
		"must click its confirmation link: until then budget alerts, alarms and breaker notices reach no one",
		len(e.cfg.AlertEmails), stacks.Namespace, strings.Join(e.cfg.AlertEmails, ", "))}
}
