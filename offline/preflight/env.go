package preflight

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections"
	"github.com/aws/aws-sdk-go-v2/service/codestarconnections"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/tenantco/platform/stacks"
)

// costExplorerRegion is where Cost Explorer's API lives, whatever the stack's
// region.
const costExplorerRegion = "us-east-1"

// clients are the SDK clients preflight uses, built from one aws.Config:
// each honours the SDK's endpoint settings (AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_<SERVICE>, the shared config's services section).
type clients struct {
	sts   *sts.Client
	acm   *acm.Client
	ec2   *ec2.Client
	eks   *eks.Client
	rds   *rds.Client
	cache *elasticache.Client
	elb   *elbv2.Client
	iam   *iam.Client
	sq    *servicequotas.Client
	ce    *costexplorer.Client
	logs  *cloudwatchlogs.Client
	// The runner's GitHub credential: one connection API per ARN prefix,
	// or a secret. Calls set the region from the credential's ARN.
	cc  *codeconnections.Client
	csc *codestarconnections.Client
	sm  *secretsmanager.Client
}

func newClients(cfg aws.Config, region string) clients {
	cfg = cfg.Copy()
	cfg.Region = region
	ceCfg := cfg.Copy()
	ceCfg.Region = costExplorerRegion
	return clients{
		sts: sts.NewFromConfig(cfg), acm: acm.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg),
		eks: eks.NewFromConfig(cfg), rds: rds.NewFromConfig(cfg), cache: elasticache.NewFromConfig(cfg),
		elb: elbv2.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), sq: servicequotas.NewFromConfig(cfg),
		ce: costexplorer.NewFromConfig(ceCfg), logs: cloudwatchlogs.NewFromConfig(cfg),
		cc: codeconnections.NewFromConfig(cfg), csc: codestarconnections.NewFromConfig(cfg), sm: secretsmanager.NewFromConfig(cfg),
	}
}

// env is what every check shares: the stack, the clients, the caller, and
// the facts more than one check needs, each fetched once.
type env struct {
	ctx     context.Context
	cancel  context.CancelFunc
	sf      *stacks.StackFile
	cfg     *stacks.Config
	aws     clients
	now     time.Time
	account string
	caller  string

	zones   func() ([]stacks.Zone, error)
	program func() (*plan, error)

	mu    sync.Mutex
	fatal error
}

func newEnv(ctx context.Context, cancel context.CancelFunc, sf *stacks.StackFile, cfg *stacks.Config, awsCfg aws.Config, now time.Time) *env {
	e := &env{ctx: ctx, cancel: cancel, sf: sf, cfg: cfg, aws: newClients(awsCfg, cfg.Region), now: now}
	e.zones = sync.OnceValues(e.describeZones)
	e.program = sync.OnceValues(func() (*plan, error) { return evaluate(e) })
	return e
}

// describeZones reads the region's zones as the account sees them.
func (e *env) describeZones() ([]stacks.Zone, error) {
	out, err := e.aws.ec2.DescribeAvailabilityZones(e.ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		return nil, err
	}
	zones := make([]stacks.Zone, 0, len(out.AvailabilityZones))
	for _, z := range out.AvailabilityZones {
		zones = append(zones, stacks.Zone{
			ID: aws.ToString(z.ZoneId), Name: aws.ToString(z.ZoneName), State: string(z.State),
			OptInStatus: string(z.OptInStatus), Type: aws.ToString(z.ZoneType),
		})
	}
	return zones, nil
}

func (e *env) fatalErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fatal
}

// failed turns an AWS error into the finding of a check that could not
// look: SKIP naming the missing action for AccessDenied, SKIP with the
// error otherwise. Bad credentials stop the whole run (exit 2).
func (e *env) failed(what string, err error) Finding {
	if p := credentialsProblemOf(err); p != "" {
		e.mu.Lock()
		if e.fatal == nil {
			e.fatal = errors.New(p)
		}
		e.mu.Unlock()
		e.cancel()
		return Finding{Status: Skip, Text: what + ": " + p}
	}
	action := actionOf(err)
	if isDenied(err) {
		return Finding{Status: Skip, Text: fmt.Sprintf("%s: not checked: access denied to %s", what, action),
			Fix: fmt.Sprintf("grant %s to the caller (go run . preflight --policy prints every action preflight needs)", action)}
	}
	return Finding{Status: Skip, Text: fmt.Sprintf("%s: not checked: %s", what, oneLine(err))}
}

// iamPrefix maps the SDK's service IDs to the IAM action prefixes.
var iamPrefix = map[string]string{
	sts.ServiceID: "sts", acm.ServiceID: "acm", ec2.ServiceID: "ec2", eks.ServiceID: "eks", rds.ServiceID: "rds",
	elasticache.ServiceID: "elasticache", elbv2.ServiceID: "elasticloadbalancing", iam.ServiceID: "iam",
	servicequotas.ServiceID: "servicequotas", costexplorer.ServiceID: "ce", cloudwatchlogs.ServiceID: "logs",
	codeconnections.ServiceID: "codeconnections", codestarconnections.ServiceID: "codestar-connections", secretsmanager.ServiceID: "secretsmanager",
}

// actionOf names the IAM action of the call that failed (ec2:DescribeVpcs).
func actionOf(err error) string {
	var oe *smithy.OperationError
	if errors.As(err, &oe) {
		if p, ok := iamPrefix[oe.ServiceID]; ok {
			return p + ":" + oe.OperationName
		}
		return oe.ServiceID + ":" + oe.OperationName
	}
	return "an AWS call"
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func errMessage(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorMessage()
	}
	return err.Error()
}

// isDenied recognises "you may not call this" in each protocol's words.
func isDenied(err error) bool {
	switch errCode(err) {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "UnauthorizedException":
		return true
	}
	return false
}

// credentialCodes are the answers that mean the credentials themselves are
// bad, whatever the call: nothing else can be checked with them.
var credentialCodes = map[string]string{
	"ExpiredToken":                "the session token has expired",
	"ExpiredTokenException":       "the session token has expired",
	"RequestExpired":              "the request's signature has expired (is the clock right?)",
	"InvalidClientTokenId":        "the access key is not valid in this account's partition",
	"UnrecognizedClientException": "the access key is not valid",
	"AuthFailure":                 "AWS could not validate the credentials",
	"SignatureDoesNotMatch":       "the secret key does not match the access key",
	"InvalidToken":                "the session token is not valid",
}

// credentialsProblemOf describes a bad-credentials error, or "" for any
// other error.
func credentialsProblemOf(err error) string {
	code := errCode(err)
	if why, ok := credentialCodes[code]; ok {
		return fmt.Sprintf("%s answered %s: %s; renew the credentials (aws sso login --profile <profile>, or a new session) and run again", actionOf(err), code, why)
	}
	return ""
}

// credentialsProblem explains why the identity call failed: bad or missing
// credentials, or AWS unreachable.
func credentialsProblem(err error) string {
	if p := credentialsProblemOf(err); p != "" {
		return p
	}
	if errCode(err) != "" {
		return fmt.Sprintf("%s answered %s: %s", actionOf(err), errCode(err), errMessage(err))
	}
	msg := oneLine(err)
	if strings.Contains(msg, "credentials") {
		return "no AWS credentials: " + msg + "; log in (aws sso login --profile <profile> and export AWS_PROFILE) or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
	}
	return "cannot reach AWS: " + msg
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// tagMap turns EC2, RDS, IAM and ElastiCache tag lists into a map.
func tagMap[T any](tags []T, kv func(T) (*string, *string)) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		k, v := kv(t)
		m[aws.ToString(k)] = aws.ToString(v)
	}
	return m
}

func ec2Tags(tags []ec2types.Tag) map[string]string {
	return tagMap(tags, func(t ec2types.Tag) (*string, *string) { return t.Key, t.Value })
}

// ownedBy reports whether tags mark a resource as this stack's: the
// provider's default tags put project and stack on everything it creates.
func (e *env) owns(tags map[string]string) bool {
	return tags["project"] == e.cfg.Project && tags["stack"] == e.cfg.Stack
}

// ownerOf describes who a resource's tags say made it.
func ownerOf(tags map[string]string) string {
	if s := tags["stack"]; s != "" {
		return fmt.Sprintf("tagged project=%s, stack=%s", tags["project"], s)
	}
	return "not tagged by any stack"
}

// parallel runs fns concurrently and waits for all of them.
func parallel(fns ...func()) {
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	wg.Wait()
}
