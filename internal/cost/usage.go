package cost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// UsageConfigKey is the stack config key of the usage section.
const UsageConfigKey = "platform:usage"

// Usage is the per-stack usage section (stack config key `platform:usage`, a
// YAML object). JSON tags are the config keys. Keys a stack leaves out keep
// their DefaultUsage value (see ParseUsage).
type Usage struct {
	HoursPerMonth       float64 `json:"hoursPerMonth"`       // default 730
	NATDataGBPerGateway float64 `json:"natDataGbPerGateway"` // GB processed per NAT gateway per month
	LBLCUs              float64 `json:"lbLcu"`               // average LCUs per load balancer
	LogIngestGB         float64 `json:"logIngestGb"`         // GB ingested per month, whole stack (split evenly across log groups)
	LogStoredGB         float64 `json:"logStoredGb"`         // GB stored, whole stack
	BackupGBBeyondFree  float64 `json:"backupGbBeyondFree"`  // RDS backup GB beyond the free 100 % of allocated storage, whole stack (split evenly across RDS instances)
	ECRStorageGB        float64 `json:"ecrStorageGb"`        // GB stored in ECR, whole stack (split evenly across repositories)
	EndpointDataGB      float64 `json:"endpointDataGb"`      // interface endpoint data per endpoint
	// CIRunnerMinutes is the build minutes a CodeBuild-hosted CI runner
	// project runs per month (per project): the deploy and preview jobs
	// that reach the cluster from inside the VPC.
	CIRunnerMinutes float64 `json:"ciRunnerMinutes"`
}

// Default usage values: a small dev stack. Every usage-based part has a
// non-zero default except BackupGBBeyondFree, whose 0 is an explicit,
// reported assumption (automated backups with retention <= 7 days stay within
// the free 100 % of allocated storage).
const (
	DefaultHoursPerMonth       = 730.0 // AWS's monthly hours (8760 / 12)
	DefaultNATDataGBPerGateway = 50.0
	DefaultLBLCUs              = 1.0
	DefaultLogIngestGB         = 5.0
	DefaultLogStoredGB         = 10.0
	DefaultBackupGBBeyondFree  = 0.0
	DefaultECRStorageGB        = 10.0
	DefaultEndpointDataGB      = 10.0
	// DefaultCIRunnerMinutes: 30 deploys x 20 min (build the program and the
	// image, preview, up) + 30 pull-request previews x 10 min, per stack.
	DefaultCIRunnerMinutes = 900.0
)

// DefaultUsage returns the documented defaults.
func DefaultUsage() Usage {
	return Usage{
		HoursPerMonth:       DefaultHoursPerMonth,
		NATDataGBPerGateway: DefaultNATDataGBPerGateway,
		LBLCUs:              DefaultLBLCUs,
		LogIngestGB:         DefaultLogIngestGB,
		LogStoredGB:         DefaultLogStoredGB,
		BackupGBBeyondFree:  DefaultBackupGBBeyondFree,
		ECRStorageGB:        DefaultECRStorageGB,
		EndpointDataGB:      DefaultEndpointDataGB,
		CIRunnerMinutes:     DefaultCIRunnerMinutes,
	}
}

// ParseUsage reads the `platform:usage` config value (a JSON object; Pulumi
// hands YAML objects over as JSON) on top of DefaultUsage. Unknown keys are
// errors naming the key; the result is validated. Empty input gives the
// defaults.
func ParseUsage(data []byte) (Usage, error) {
	u := DefaultUsage()
	if len(bytes.TrimSpace(data)) == 0 {
		return u, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&u); err != nil {
		msg := err.Error()
		if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			return Usage{}, fmt.Errorf("%s.%s: unknown key (known: %s)", UsageConfigKey, strings.Trim(f, `"`), strings.Join(usageKeys(), ", "))
		}
		return Usage{}, fmt.Errorf("%s: %w", UsageConfigKey, err)
	}
	if errs := u.Validate(); len(errs) > 0 {
		return Usage{}, joinErrs(errs)
	}
	return u, nil
}

type usageField struct {
	key string
	val func(Usage) float64
	// describe renders the assumption text for a value.
	describe func(float64) string
	// positive: the value must be > 0 (not just >= 0).
	positive bool
}

var usageFields = []usageField{
	{"hoursPerMonth", func(u Usage) float64 { return u.HoursPerMonth },
		func(v float64) string { return fmt.Sprintf("%s hours per month for hourly prices", num(v)) }, true},
	{"natDataGbPerGateway", func(u Usage) float64 { return u.NATDataGBPerGateway },
		func(v float64) string { return fmt.Sprintf("%s GB per NAT gateway per month", num(v)) }, false},
	{"lbLcu", func(u Usage) float64 { return u.LBLCUs },
		func(v float64) string {
			return fmt.Sprintf("%s LCU on average per load balancer (ALB LCU / NLB NLCU), every hour", num(v))
		}, false},
	{"logIngestGb", func(u Usage) float64 { return u.LogIngestGB },
		func(v float64) string {
			return fmt.Sprintf("%s GB of CloudWatch Logs ingested per month for the whole stack, split evenly across log groups", num(v))
		}, false},
	{"logStoredGb", func(u Usage) float64 { return u.LogStoredGB },
		func(v float64) string {
			return fmt.Sprintf("%s GB of CloudWatch Logs stored for the whole stack, split evenly across log groups", num(v))
		}, false},
	{"backupGbBeyondFree", func(u Usage) float64 { return u.BackupGBBeyondFree },
		func(v float64) string {
			if v == 0 {
				return "0 GB beyond free allocation (retention ≤ 7 days): automated RDS backups assumed to fit in the free 100 % of allocated storage"
			}
			return fmt.Sprintf("%s GB of RDS backup storage beyond the free 100 %% of allocated storage for the whole stack, split evenly across RDS instances", num(v))
		}, false},
	{"ecrStorageGb", func(u Usage) float64 { return u.ECRStorageGB },
		func(v float64) string {
			return fmt.Sprintf("%s GB stored in ECR for the whole stack, split evenly across repositories", num(v))
		}, false},
	{"endpointDataGb", func(u Usage) float64 { return u.EndpointDataGB },
		func(v float64) string { return fmt.Sprintf("%s GB per interface VPC endpoint per month", num(v)) }, false},
	{"ciRunnerMinutes", func(u Usage) float64 { return u.CIRunnerMinutes },
		func(v float64) string {
			return fmt.Sprintf("%s build minutes per month per CodeBuild CI runner project (default: 30 deploys x 20 min + 30 pull-request previews x 10 min)", num(v))
		}, false},
}

func usageKeys() []string {
	out := make([]string, len(usageFields))
	for i, f := range usageFields {
		out[i] = f.key
	}
	return out
}

// Validate reports every invalid value; each error names its config key,
// e.g. `platform:usage.natDataGbPerGateway: must be >= 0`.
func (u Usage) Validate() []error {
	var errs []error
	for _, f := range usageFields {
		v := f.val(u)
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			errs = append(errs, fmt.Errorf("%s.%s: must be a finite number", UsageConfigKey, f.key))
		case f.positive && v <= 0:
			errs = append(errs, fmt.Errorf("%s.%s: must be > 0", UsageConfigKey, f.key))
		case v < 0:
			errs = append(errs, fmt.Errorf("%s.%s: must be >= 0", UsageConfigKey, f.key))
		case f.key == "hoursPerMonth" && v > 744:
			errs = append(errs, fmt.Errorf("%s.%s: must be <= 744 (31 days)", UsageConfigKey, f.key))
		}
	}
	return errs
}

// assumptions renders every usage value (all usage parts stay visible, even
// the ones no resource of the stack uses).
func (u Usage) assumptions() map[string]string {
	out := make(map[string]string, len(usageFields))
	def := DefaultUsage()
	for _, f := range usageFields {
		v := f.val(u)
		src := "platform:usage"
		if v == f.val(def) {
			src = "platform:usage or default"
		}
		out[f.key] = fmt.Sprintf("%s (%s)", f.describe(v), src)
	}
	return out
}

// num formats a quantity without trailing zeros.
func num(v float64) string {
	s := fmt.Sprintf("%.4f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}
