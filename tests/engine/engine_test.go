//go:build engine

package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/stacks"
)

// devStackFile is the dev stack's own config file with its documentation
// placeholders filled in, as an operator does before the first `up`: the
// program refuses to deploy AWS's example account, reserved names and
// documentation networks (stacks.Config.Placeholders).
func devStackFile(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(env.root, "Pulumi.dev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, repl := range map[string]string{
		"arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000": "arn:aws:acm:us-east-1:210987654321:certificate/5a3c1b2e-9d8f-4e7a-b6c5-0123456789ab",
		"dev-api.tenantco.example": "dev-api.tenantco.io",
		"@tenantco.example":        "@tenantco.io",
		"- 203.0.113.0/24":         "- 198.18.0.0/24",
		"arn:aws:codeconnections:us-east-1:111122223333:connection/00000000-0000-0000-0000-000000000000": "arn:aws:codeconnections:us-east-1:210987654321:connection/7d3c2b1a-0e9f-4a8b-9c7d-6e5f4a3b2c1d",
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("Pulumi.dev.yaml no longer holds %q: update devStackFile", old)
		}
		s = strings.ReplaceAll(s, old, repl)
	}
	return []byte(s)
}

// devUp is the dev stack once an `up` succeeded (test 1, or test 4 alone).
var devUp struct {
	sync.Mutex
	stack *auto.Stack
}

// upDev runs `pulumi up` of the dev stack, with the policy pack when
// withPack is set.
func upDev(t *testing.T, withPack bool) (auto.Stack, *report) {
	t.Helper()
	s := stack(t, "dev", stacks.Program, devStackFile(t))
	log := logFile(t, "up")
	ch, rep := watch()
	opts := []optup.Option{optup.EventStreams(ch), optup.ProgressStreams(log), optup.ErrorProgressStreams(log)}
	if withPack {
		opts = append(opts, optup.PolicyPacks(env.policyPack))
	}
	res, err := s.Up(context.Background(), opts...)
	rep.wait()
	if err != nil {
		t.Fatalf("pulumi up (dev, policy pack %v): %v\nmandatory violations:\n%s\nlast output:\n%s",
			withPack, err, rep.describe("mandatory"), tail(log.Name(), 60))
	}
	if res.Summary.Result != "succeeded" {
		t.Fatalf("pulumi up (dev): result %q", res.Summary.Result)
	}
	devUp.stack = &s
	checkClusterScaling(t)
	return s, rep
}

// 1. The dev stack's program (stacks.Program, Pulumi.dev.yaml) under the real
// CLI with the real policy pack: preview then up, zero mandatory violations,
// the pack demonstrably ran (every resource analyzed, the stack policies,
// cost-ceiling among them, passed; after up also ci-runner-scoped and
// autoscaler-iam-scoped, whose roles' policies are unknown in a preview),
// and the program's Kubernetes side is on the API server: the tenant
// service Ready, metrics-server and the Cluster Autoscaler accepted, Ready
// and restricted-compliant (checkClusterScaling, in upDev).
func TestDevStackPreviewAndUpWithPolicyPack(t *testing.T) {
	devUp.Lock()
	defer devUp.Unlock()
	s := stack(t, "dev", stacks.Program, devStackFile(t))

	log := logFile(t, "preview")
	ch, rep := watch()
	_, err := s.Preview(context.Background(), optpreview.PolicyPacks(env.policyPack), optpreview.EventStreams(ch),
		optpreview.ProgressStreams(log), optpreview.ErrorProgressStreams(log))
	rep.wait()
	if err != nil {
		t.Fatalf("pulumi preview (dev, with the policy pack): %v\nmandatory violations:\n%s\nlast output:\n%s",
			err, rep.describe("mandatory"), tail(log.Name(), 60))
	}
	checkCompliant(t, "preview", rep)

	_, rep = upDev(t, true)
	checkCompliant(t, "up", rep)
	for _, p := range []string{"ci-runner-scoped", "autoscaler-iam-scoped"} {
		if !slices.Contains(rep.stackPassed, p) {
			t.Errorf("up: stack policy %s did not pass (passed %v, failed %v)", p, rep.stackPassed, rep.stackFailed)
		}
	}
	outs, err := s.Outputs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"vpcId", "clusterName", "kubeconfig", "dbEndpoint", "redisEndpoint", "serviceUrl", "deployRoleArn", "alertsTopicArn"} {
		if v, ok := outs[k]; !ok || v.Value == nil || v.Value == "" {
			t.Errorf("stack output %s missing after up (got %v)", k, outs[k])
		}
	}
	// The program's tenant service went through the real kubernetes
	// provider to the API server; Pulumi waited for it to be Ready.
	checkDeploymentReady(t, "tenant-service", "tenantd", 2)
}

func checkCompliant(t *testing.T, op string, rep *report) {
	t.Helper()
	if m := rep.mandatory(); len(m) > 0 {
		t.Errorf("%s: %d mandatory policy violation(s), want 0:\n%s", op, len(m), rep.describe("mandatory"))
	}
	if rep.analyzed < 50 {
		t.Errorf("%s: the policy pack analyzed %d resources; the dev program has well over 50 (was the pack loaded?)", op, rep.analyzed)
	}
	for _, p := range []string{"cost-ceiling", "platform-config"} {
		if !slices.Contains(rep.stackPassed, p) {
			t.Errorf("%s: stack policy %s did not pass (passed %v, failed %v)", op, p, rep.stackPassed, rep.stackFailed)
		}
	}
	if adv := rep.describe("advisory"); adv != "" {
		t.Logf("%s: advisory findings (allowed):\n%s", op, adv)
	}
}

// 2. A dev variant over the ceiling (node group max 20 instead of 3): the
// CLI refuses the preview with the cost policy's message and creates nothing.
func TestOverCeilingPreviewRefused(t *testing.T) {
	cfg := devStackFile(t)
	over := bytes.Replace(cfg, []byte(`platform:nodeMax: "3"`), []byte(`platform:nodeMax: "20"`), 1)
	if bytes.Equal(cfg, over) {
		t.Fatal(`Pulumi.dev.yaml no longer has platform:nodeMax: "3"; update this test's variant`)
	}
	s := stack(t, "dev-over-ceiling", stacks.Program, over)
	log := logFile(t, "preview")
	ch, rep := watch()
	_, err := s.Preview(context.Background(), optpreview.PolicyPacks(env.policyPack), optpreview.EventStreams(ch),
		optpreview.ProgressStreams(log), optpreview.ErrorProgressStreams(log))
	rep.wait()
	if err == nil {
		t.Fatalf("preview over the ceiling succeeded; the policy pack must refuse it\nlast output:\n%s", tail(log.Name(), 40))
	}
	var costMsg string
	for _, v := range rep.mandatory() {
		if v.PolicyName == "cost-ceiling" {
			costMsg = v.Message
		}
	}
	if costMsg == "" {
		t.Fatalf("preview failed, but not with a mandatory cost-ceiling violation: %v\nmandatory: %s", err, rep.describe("mandatory"))
	}
	if !strings.Contains(costMsg, "exceeds the ceiling $700.00") {
		t.Errorf("cost-ceiling message %q does not name the $700.00 ceiling", costMsg)
	}
	if !slices.Contains(rep.stackFailed, "cost-ceiling") {
		t.Errorf("stack policy summary: cost-ceiling not among failed %v", rep.stackFailed)
	}
	// The CLI's own output (what a user sees) carries the message too.
	out := tail(log.Name(), 400)
	if !strings.Contains(out, "cost-ceiling") || !strings.Contains(out, "exceeds the ceiling") {
		t.Errorf("CLI output does not show the cost-ceiling refusal:\n%s", tail(log.Name(), 40))
	}
	if others := otherMandatory(rep, "cost-ceiling"); others != "" {
		t.Errorf("other mandatory violations besides cost-ceiling (the variant must fail for the cost only):\n%s", others)
	}
	t.Logf("refused: %s", strings.ReplaceAll(costMsg, "\n", " | "))
}

func otherMandatory(rep *report, except string) string {
	var lines []string
	for _, v := range rep.mandatory() {
		if v.PolicyName != except {
			lines = append(lines, v.PolicyName+" "+v.ResourceURN+": "+v.Message)
		}
	}
	return strings.Join(lines, "\n")
}

// e2eNamespace is test 3's namespace: the dev program (test 1) uses
// tenant-service on the same API server.
const e2eNamespace = "tenant-e2e"

// tenantServiceProgram deploys only the TenantService component, prod-shaped
// (3 replicas spread strictly over the 3 zones), with the real kubernetes
// provider on the local API server and the aws test double.
func tenantServiceProgram(ctx *pulumi.Context) error {
	awsProvider, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{Region: pulumi.String("us-east-1")})
	if err != nil {
		return err
	}
	k8s, err := kubernetes.NewProvider(ctx, "local", &kubernetes.ProviderArgs{
		Kubeconfig: pulumi.ToSecret(pulumi.String(env.cluster.kubeconfigJSON)).(pulumi.StringOutput),
	})
	if err != nil {
		return err
	}
	const acct = "123456789012"
	svc, err := components.NewTenantService(ctx, "e2e-tenantd", &components.TenantServiceArgs{
		Namespace:                 e2eNamespace,
		ImageTag:                  "0.1.0",
		MinReplicas:               3,
		MaxReplicas:               6,
		SpreadStrictly:            true,
		OIDCProviderArn:           pulumi.String("arn:aws:iam::" + acct + ":oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/E2E"),
		OIDCIssuer:                pulumi.String("oidc.eks.us-east-1.amazonaws.com/id/E2E"),
		NodeASGName:               pulumi.String("eks-e2e-nodes"),
		VpcID:                     pulumi.String("vpc-e2e"),
		PublicSubnetIDs:           pulumi.ToStringArray([]string{"subnet-e2e-a", "subnet-e2e-b"}),
		LoadBalancerSecurityGroup: pulumi.String("sg-e2e-lb"),
		NodePort:                  30081, // 30080 is the dev program's
		VpcCIDR:                   "10.0.0.0/16",
		DatabaseCIDRs:             []string{"10.0.96.0/20", "10.0.112.0/20"},
		CertificateArn:            "arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000",
		DatabaseHost:              pulumi.String("db.e2e.internal"),
		DatabaseName:              pulumi.String("platform"),
		DatabaseSecretArn:         pulumi.String("arn:aws:secretsmanager:us-east-1:" + acct + ":secret:rds!db-e2e"),
		DatabaseKmsKeyArn:         pulumi.String("arn:aws:kms:us-east-1:" + acct + ":key/e2e"),
		RedisHost:                 pulumi.String("redis.e2e.internal"),
		RedisAuthToken:            pulumi.ToSecret(pulumi.String("e2e-redis-auth-token-0123456789")).(pulumi.StringOutput),
		AlertsTopicArn:            pulumi.String("arn:aws:sns:us-east-1:" + acct + ":alerts"),
		Stack:                     "e2e",
		Environment:               "prod",
		BudgetUSD:                 1500,
		CeilingUSD:                1700,
		Region:                    "us-east-1",
	}, pulumi.Providers(awsProvider, k8s))
	if err != nil {
		return err
	}
	ctx.Export("repositoryUrl", svc.RepositoryURL)
	return nil
}

// The Kubernetes objects of the component, by API path under the namespace.
var e2eObjects = []string{
	"/api/v1/namespaces/" + e2eNamespace + "/serviceaccounts/tenantd",
	"/api/v1/namespaces/" + e2eNamespace + "/serviceaccounts/tenantd-bootstrap",
	"/api/v1/namespaces/" + e2eNamespace + "/serviceaccounts/cost-report",
	"/api/v1/namespaces/" + e2eNamespace + "/secrets/tenantd",
	"/api/v1/namespaces/" + e2eNamespace + "/secrets/tenantd-bootstrap",
	"/api/v1/namespaces/" + e2eNamespace + "/services/tenantd",
	"/apis/apps/v1/namespaces/" + e2eNamespace + "/deployments/tenantd",
	"/apis/policy/v1/namespaces/" + e2eNamespace + "/poddisruptionbudgets/tenantd",
	"/apis/autoscaling/v2/namespaces/" + e2eNamespace + "/horizontalpodautoscalers/tenantd",
	"/apis/batch/v1/namespaces/" + e2eNamespace + "/cronjobs/cost-report",
}

// Collections that must be empty of the component's objects after destroy.
var e2eCollections = []string{
	"/api/v1/namespaces/" + e2eNamespace + "/pods",
	"/api/v1/namespaces/" + e2eNamespace + "/secrets",
	"/api/v1/namespaces/" + e2eNamespace + "/services",
	"/api/v1/namespaces/" + e2eNamespace + "/serviceaccounts",
	"/apis/apps/v1/namespaces/" + e2eNamespace + "/deployments",
	"/apis/batch/v1/namespaces/" + e2eNamespace + "/jobs",
	"/apis/batch/v1/namespaces/" + e2eNamespace + "/cronjobs",
	"/apis/policy/v1/namespaces/" + e2eNamespace + "/poddisruptionbudgets",
	"/apis/autoscaling/v2/namespaces/" + e2eNamespace + "/horizontalpodautoscalers",
	"/apis/networking.k8s.io/v1/namespaces/" + e2eNamespace + "/networkpolicies",
}

// 3. The tenant-service component with the real kubernetes provider on a real
// API server: every object is accepted by the API server's validation and
// admission (restricted Pod Security included), the bootstrap and migrations Jobs
// completes, the Deployment is Ready with one replica per zone, and
// `destroy` leaves nothing behind.
func TestTenantServiceOnKubernetes(t *testing.T) {
	s := stack(t, "tenant-service", tenantServiceProgram, nil)
	log := logFile(t, "up")
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_, _ = s.Destroy(context.Background())
		}
	})
	if _, err := s.Up(context.Background(), optup.ProgressStreams(log), optup.ErrorProgressStreams(log)); err != nil {
		t.Fatalf("pulumi up (tenant service on the local API server): %v\nlast output:\n%s", err, tail(log.Name(), 60))
	}

	var ns struct {
		Metadata struct{ Labels map[string]string }
	}
	if err := env.cluster.get("/api/v1/namespaces/"+e2eNamespace, &ns); err != nil {
		t.Fatal(err)
	}
	if ns.Metadata.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels %v: want pod-security enforce=restricted", ns.Metadata.Labels)
	}
	for _, p := range e2eObjects {
		if err := env.cluster.get(p, nil); err != nil {
			t.Errorf("after up: %v", err)
		}
	}
	var nps struct{ Items []any }
	if err := env.cluster.get("/apis/networking.k8s.io/v1/namespaces/"+e2eNamespace+"/networkpolicies", &nps); err != nil || len(nps.Items) == 0 {
		t.Errorf("network policies: %d (%v), want at least the default deny", len(nps.Items), err)
	}
	var jobs struct {
		Items []struct {
			Status struct{ Succeeded int }
		}
	}
	if err := env.cluster.get("/apis/batch/v1/namespaces/"+e2eNamespace+"/jobs", &jobs); err != nil || len(jobs.Items) != 2 ||
		jobs.Items[0].Status.Succeeded != 1 || jobs.Items[1].Status.Succeeded != 1 {
		t.Errorf("bootstrap and migrations jobs: %+v (%v), want two jobs, both succeeded", jobs.Items, err)
	}
	var svc struct {
		Spec struct {
			Type  string
			Ports []struct{ NodePort int }
		}
	}
	if err := env.cluster.get("/api/v1/namespaces/"+e2eNamespace+"/services/tenantd", &svc); err == nil &&
		(svc.Spec.Type != "NodePort" || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].NodePort != 30081) {
		t.Errorf("service: %+v, want NodePort 30081", svc.Spec)
	}
	checkDeploymentReady(t, e2eNamespace, "tenantd", 3)
	checkSpread(t, e2eNamespace)

	dlog := logFile(t, "destroy")
	if _, err := s.Destroy(context.Background(), optdestroy.ProgressStreams(dlog), optdestroy.ErrorProgressStreams(dlog)); err != nil {
		t.Fatalf("pulumi destroy: %v\nlast output:\n%s", err, tail(dlog.Name(), 60))
	}
	destroyed = true
	// Namespace deletion finishes asynchronously (the namespace controller
	// empties it first).
	err := env.cluster.waitFor("namespace "+e2eNamespace+" gone", 2*time.Minute, func() error {
		err := env.cluster.get("/api/v1/namespaces/"+e2eNamespace, nil)
		if errors.Is(err, errNotFound) {
			return nil
		}
		if err == nil {
			return fmt.Errorf("still there")
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
	for _, p := range e2eCollections {
		var list struct {
			Items []struct{ Metadata struct{ Name string } }
		}
		if err := env.cluster.get(p, &list); err != nil {
			t.Errorf("after destroy: %v", err)
			continue
		}
		if len(list.Items) > 0 {
			t.Errorf("after destroy: %s still has %d object(s), e.g. %s", p, len(list.Items), list.Items[0].Metadata.Name)
		}
	}
	dep, err := s.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(dep.Deployment, []byte(`"urn"`)); n > 0 {
		t.Errorf("after destroy the stack still holds %d resource(s)", n)
	}
}

func checkDeploymentReady(t *testing.T, ns, name string, replicas int) {
	t.Helper()
	var d struct {
		Spec   struct{ Replicas int }
		Status struct{ ReadyReplicas, AvailableReplicas, UpdatedReplicas int }
	}
	if err := env.cluster.get("/apis/apps/v1/namespaces/"+ns+"/deployments/"+name, &d); err != nil {
		t.Errorf("deployment %s/%s: %v", ns, name, err)
		return
	}
	if d.Spec.Replicas != replicas || d.Status.ReadyReplicas != replicas || d.Status.AvailableReplicas != replicas || d.Status.UpdatedReplicas != replicas {
		t.Errorf("deployment %s/%s: spec %d, ready %d, available %d, updated %d; want all %d",
			ns, name, d.Spec.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UpdatedReplicas, replicas)
	}
}

// checkSpread: DoNotSchedule zone spread puts one replica in each zone.
func checkSpread(t *testing.T, ns string) {
	t.Helper()
	var pods struct {
		Items []struct {
			Spec   struct{ NodeName string }
			Status struct{ Phase string }
		}
	}
	if err := env.cluster.get("/api/v1/namespaces/"+ns+"/pods?labelSelector=app.kubernetes.io/name%3Dtenantd", &pods); err != nil {
		t.Error(err)
		return
	}
	perZone := map[string]int{}
	for _, p := range pods.Items {
		if p.Status.Phase != "Running" {
			continue
		}
		var n struct {
			Metadata struct{ Labels map[string]string }
		}
		if err := env.cluster.get("/api/v1/nodes/"+p.Spec.NodeName, &n); err != nil {
			t.Error(err)
			continue
		}
		perZone[n.Metadata.Labels["topology.kubernetes.io/zone"]]++
	}
	for _, z := range zones {
		if perZone[z] != 1 {
			t.Errorf("running tenantd pods per zone %v: want one in each of %v", perZone, zones)
			break
		}
	}
}

// 4. A second `up` of the dev stack with nothing changed reports no changes:
// the program is deterministic and the providers (the real kubernetes one
// included) agree that the deployed state is the desired state. The policy
// pack is test 1's concern: this test runs without it, so that it proves
// determinism whatever the pack says.
func TestSecondUpReportsNoChanges(t *testing.T) {
	devUp.Lock()
	defer devUp.Unlock()
	if devUp.stack == nil { // test 1 did not get the stack up (or -run): the first up is here
		upDev(t, false)
	}
	s := *devUp.stack
	log := logFile(t, "second-up")
	ch, rep := watch()
	res, err := s.Up(context.Background(), optup.EventStreams(ch), optup.ProgressStreams(log), optup.ErrorProgressStreams(log))
	rep.wait()
	if err != nil {
		t.Fatalf("second pulumi up: %v\nlast output:\n%s", err, tail(log.Name(), 60))
	}
	if len(rep.changes) > 0 {
		t.Errorf("second up changed %d resource(s), want none:\n  %s", len(rep.changes), strings.Join(rep.changes, "\n  "))
	}
	if res.Summary.ResourceChanges == nil {
		t.Fatal("second up: no resource summary")
	}
	summary := *res.Summary.ResourceChanges
	for op, n := range summary {
		if op != string(apitype.OpSame) && n > 0 {
			t.Errorf("second up summary: %s %d, want only same", op, n)
		}
	}
	if summary[string(apitype.OpSame)] < 50 {
		t.Errorf("second up summary %v: want the whole program unchanged", summary)
	}
	checkDeploymentReady(t, "tenant-service", "tenantd", 2)
}

// 5. The node group's desired size belongs to whoever set it last (the node
// autoscaler, an operator, the dev emergency breaker at 200 %), not to the
// program: after a refresh finds it changed, the next `up` must leave it.
// ignoreChanges on the eks.ManagedNodeGroup remote component would stay on
// the component (pulumi/pulumi-eks#1293); the program passes a transform the
// engine applies to the aws:eks/nodeGroup child its provider registers. The
// test changes the child's desired size in the state, as `pulumi refresh`
// would after the breaker scaled the group to zero, and checks that `up`
// reports the child "same" and keeps the size.
func TestNodeGroupDesiredSizeSurvivesUp(t *testing.T) {
	devUp.Lock()
	defer devUp.Unlock()
	if devUp.stack == nil {
		upDev(t, false)
	}
	s := *devUp.stack
	ctx := context.Background()
	child := setNodeGroupDesiredSize(t, s, 0)

	log := logFile(t, "up-after-scale-to-zero")
	ch, rep := watch()
	_, err := s.Up(ctx, optup.EventStreams(ch), optup.ProgressStreams(log), optup.ErrorProgressStreams(log))
	rep.wait()
	if err != nil {
		t.Fatalf("pulumi up: %v\nlast output:\n%s", err, tail(log.Name(), 60))
	}
	for _, c := range rep.changes {
		if strings.Contains(c, child) {
			t.Errorf("up changed the node group back: %s", c)
		}
	}
	if got := setNodeGroupDesiredSize(t, s, -1); got != child {
		t.Fatalf("node group child moved: %s", got)
	}
}

// setNodeGroupDesiredSize sets the aws:eks/nodeGroup child's
// scalingConfig.desiredSize (inputs and outputs) in the stack's state to n,
// or, with n < 0, checks that it is still 0. It returns the child's URN.
func setNodeGroupDesiredSize(t *testing.T, s auto.Stack, n int) string {
	t.Helper()
	ctx := context.Background()
	dep, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(dep.Deployment, &doc); err != nil {
		t.Fatal(err)
	}
	urn := ""
	for _, r := range doc["resources"].([]any) {
		res := r.(map[string]any)
		if res["type"] != components.NodeGroupChildType {
			continue
		}
		urn = res["urn"].(string)
		for _, part := range []string{"inputs", "outputs"} {
			sc, _ := res[part].(map[string]any)["scalingConfig"].(map[string]any)
			if sc == nil {
				t.Fatalf("%s has no %s.scalingConfig", urn, part)
			}
			if n < 0 {
				if sc["desiredSize"] != 0.0 {
					t.Errorf("%s %s.scalingConfig.desiredSize = %v after up, want 0 (kept)", urn, part, sc["desiredSize"])
				}
				continue
			}
			sc["desiredSize"] = n
		}
	}
	if urn == "" {
		t.Fatal("no aws:eks/nodeGroup child in the state")
	}
	if n >= 0 {
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		dep.Deployment = b
		if err := s.Import(ctx, dep); err != nil {
			t.Fatal(err)
		}
	}
	return urn
}
