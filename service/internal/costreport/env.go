package costreport

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

var (
	stackRE  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)
	regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	topicRE  = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$`)
)

// Env is the command's configuration read from the environment.
type Env struct {
	Config
	Region string // AWS_REGION: the SDK's region (STS for IRSA); SNS uses the topic's
}

// LoadEnv reads the environment through getenv (os.Getenv in production) and
// reports every bad variable at once, each naming the variable and the fix.
// ALERTS_TOPIC_ARN may be left unset when the report is only printed
// (dryRun). See README.md.
func LoadEnv(getenv func(string) string, dryRun bool) (Env, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	money := func(name string, required bool, fix string) float64 {
		v := get(name)
		if v == "" {
			if required {
				bad(name, "required; %s", fix)
			}
			return 0
		}
		f, err := strconv.ParseFloat(strings.TrimPrefix(v, "$"), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || (required && f == 0) {
			bad(name, "%q is not a positive number of US dollars; %s", v, fix)
			return 0
		}
		return f
	}

	e := Env{Config: Config{
		Stack:       get("STACK"),
		Environment: get("ENVIRONMENT"),
		TopicArn:    get("ALERTS_TOPIC_ARN"),
	}, Region: get("AWS_REGION")}

	switch {
	case e.Stack == "":
		bad("STACK", "required; set it to the Pulumi stack name, the value of the stack tag on its resources (e.g. prod)")
	case !stackRE.MatchString(e.Stack):
		bad("STACK", "%q is not a stack name (letters, digits, _ . - only)", e.Stack)
	}
	switch e.Environment {
	case "dev", "prod":
	case "":
		bad("ENVIRONMENT", "required; set it to dev or prod (the stack's platform:environment)")
	default:
		bad("ENVIRONMENT", "%q: must be dev or prod (the stack's platform:environment)", e.Environment)
	}
	e.BudgetUSD = money("MONTHLY_BUDGET_USD", true, "set it to the stack's platform:monthlyBudget, e.g. 1500")
	e.EstimateUSD = money("ESTIMATE_USD", false, "set it to the offline review's monthly_usd, e.g. 1234.56, or leave it unset")
	e.CeilingUSD = money("CEILING_USD", false, "set it to the stack's platform:monthlyCeiling, e.g. 1700, or leave it unset")
	if e.CeilingUSD > 0 && e.BudgetUSD > 0 && e.CeilingUSD < e.BudgetUSD {
		bad("CEILING_USD", "%v is below MONTHLY_BUDGET_USD (%v); the ceiling is the hard limit above the budget", e.CeilingUSD, e.BudgetUSD)
	}
	switch {
	case e.TopicArn == "" && !dryRun:
		bad("ALERTS_TOPIC_ARN", "required (or run with -dry-run); set it to the alerts topic, arn:aws:sns:<region>:<account>:<name>")
	case e.TopicArn != "" && !topicRE.MatchString(e.TopicArn):
		bad("ALERTS_TOPIC_ARN", "%q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", e.TopicArn)
	}
	switch {
	case e.Region == "":
		bad("AWS_REGION", "required; set it to the cluster's region, e.g. us-east-1")
	case !regionRE.MatchString(e.Region):
		bad("AWS_REGION", "%q is not an AWS region name (e.g. us-east-1)", e.Region)
	}
	return e, errors.Join(errs...)
}
