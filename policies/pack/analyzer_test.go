package main

import (
	"bufio"
	"context"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/policies/rules"
)

// These tests drive the pack the way the engine does: over gRPC, with
// properties marshaled as the engine marshals them (unknowns and secrets
// kept). They do not run the Pulumi CLI.

const (
	stackPrefix = "urn:pulumi:dev::platform::"
	provURN     = stackPrefix + "pulumi:providers:aws::aws-dev"
	kms         = "arn:aws:kms:us-east-1:123456789012:key/1"
)

var (
	computed = resource.MakeComputed(resource.NewProperty(""))
	secret   = resource.MakeSecret(resource.NewProperty("s3cr3t-token"))
)

func props(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(resource.NewPropertyMapFromMap(m), plugin.MarshalOptions{
		KeepUnknowns: true, KeepSecrets: true, KeepResources: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var devConfig = map[string]string{
	"platform:environment":    "dev",
	"platform:monthlyCeiling": "150",
	"platform:usage":          `{"natDataGbPerGateway": 10}`,
}

// startPack runs serve, reads the port it prints and returns a client.
func startPack(t *testing.T) pulumirpc.AnalyzerClient {
	t.Helper()
	r, w := io.Pipe()
	cancel := make(chan bool)
	done := make(chan error, 1)
	go func() { done <- serve(w, cancel) }()
	t.Cleanup(func() {
		close(cancel)
		// Stopping is judged by the server returning, however long a
		// loaded machine takes; a pack that never stops hangs the test
		// until go test's -timeout names it.
		if err := <-done; err != nil {
			t.Errorf("the pack stopped with %v", err)
		}
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strings.TrimSpace(line), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pulumirpc.NewAnalyzerClient(conn)
}

func configure(t *testing.T, c pulumirpc.AnalyzerClient, config map[string]string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{EngineAddress: "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{
		Stack: "dev", Project: "platform", DryRun: true, Config: config,
	}); err != nil {
		t.Fatal(err)
	}
}

// diag is a diagnostic reduced to what the tests compare.
type diag struct{ rule, urn, level, msg string }

func reduce(ds []*pulumirpc.AnalyzeDiagnostic) []diag {
	out := make([]diag, 0, len(ds))
	for _, d := range ds {
		_, msg, _ := strings.Cut(d.GetMessage(), "\n") // drop the description line
		out = append(out, diag{d.GetPolicyName(), d.GetUrn(), strings.ToLower(d.GetEnforcementLevel().String()), msg})
	}
	return out
}

var provider = map[string]any{
	"region": "us-east-1",
	"defaultTags": map[string]any{"tags": map[string]any{
		"cost-center": "platform", "owner": "platform-team", "environment": "dev",
	}},
}

func providerResource(t *testing.T) *pulumirpc.AnalyzerProviderResource {
	return &pulumirpc.AnalyzerProviderResource{Urn: provURN, Type: "pulumi:providers:aws", Name: "aws-dev", Properties: props(t, provider)}
}

// db is an RDS instance as the engine previews it: the KMS key ARN is not
// known yet, the password is a secret, the class is too big for dev.
func db() map[string]any {
	return map[string]any{
		"engine": "postgres", "instanceClass": "db.m6g.large", "allocatedStorage": 20, "storageType": "gp3",
		"multiAz": true, "storageEncrypted": true, "kmsKeyId": computed,
		"publiclyAccessible": false, "backupRetentionPeriod": 7, "deletionProtection": false, "skipFinalSnapshot": true,
		"iamDatabaseAuthenticationEnabled": true, "password": secret, "parameterGroupName": "dev-pg16",
	}
}

func TestPackOverGRPC(t *testing.T) {
	c := startPack(t)
	ctx := context.Background()

	// Before ConfigureStack (pulumi policy publish): prod levels, no crash.
	info, err := c.GetAnalyzerInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if level(info, "rds-deletion-protection") != pulumirpc.EnforcementLevel_MANDATORY {
		t.Errorf("before ConfigureStack: want prod levels")
	}

	configure(t, c, devConfig)
	info, err = c.GetAnalyzerInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if info.GetName() != packName || len(info.GetPolicies()) != len(rules.All()) {
		t.Fatalf("info: %s with %d policies, want %d", info.GetName(), len(info.GetPolicies()), len(rules.All()))
	}
	for rule, want := range map[string]pulumirpc.EnforcementLevel{
		"rds-deletion-protection": pulumirpc.EnforcementLevel_ADVISORY,
		"rds-storage-encrypted":   pulumirpc.EnforcementLevel_MANDATORY,
		"cost-ceiling":            pulumirpc.EnforcementLevel_MANDATORY,
	} {
		if got := level(info, rule); got != want {
			t.Errorf("dev level of %s = %s, want %s", rule, got, want)
		}
	}
	if p, err := c.GetPluginInfo(ctx, &emptypb.Empty{}); err != nil || p.GetVersion() != packVersion {
		t.Errorf("plugin info %v %v", p, err)
	}

	urn := stackPrefix + "aws:rds/instance:Instance::dev-db"
	resp, err := c.Analyze(ctx, &pulumirpc.AnalyzeRequest{
		Urn: urn, Type: "aws:rds/instance:Instance", Name: "dev-db",
		Properties: props(t, db()), Provider: providerResource(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := reduce(resp.GetDiagnostics())
	want := []diag{
		{"rds-storage-encrypted", urn, "advisory", "cannot verify during preview: kmsKeyId unknown"},
		{"rds-deletion-protection", urn, "advisory", "deletionProtection is false: the database can be deleted by a single destroy"},
		{"rds-deletion-protection", urn, "advisory", "skipFinalSnapshot is true: deleting the database would leave no final snapshot"},
		{"instance-class-allowed", urn, "mandatory", "instanceClass db.m6g.large is not allowed in dev; allowed: db.t4g.micro, db.t4g.small, db.t4g.medium, db.t4g.large"},
	}
	assertDiags(t, got, want)
	if d := resp.GetDiagnostics()[0]; d.GetPolicyPackName() != packName || !strings.HasPrefix(d.GetMessage(), d.GetDescription()+"\n") {
		t.Errorf("diagnostic %v", d)
	}

	// The stack check: the database alone costs more than the $150 ceiling.
	stack, err := c.AnalyzeStack(ctx, &pulumirpc.AnalyzeStackRequest{Resources: []*pulumirpc.AnalyzerResource{{
		Urn: urn, Type: "aws:rds/instance:Instance", Name: "dev-db", Properties: props(t, db()), Provider: providerResource(t),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	cost := only(reduce(stack.GetDiagnostics()), "cost-ceiling")
	if len(cost) != 1 || cost[0].level != "mandatory" ||
		!strings.HasPrefix(cost[0].msg, "monthly cost $") || !strings.Contains(cost[0].msg, "exceeds the ceiling $150.00") {
		t.Errorf("cost-ceiling: %v", cost)
	}
}

func TestPackConfigureRejectsMalformedConfig(t *testing.T) {
	c := startPack(t)
	ctx := context.Background()
	_, err := c.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{
		Stack: "dev", Config: map[string]string{"platform:monthlyCeiling": "a lot"},
	})
	if err == nil || !strings.Contains(err.Error(), "platform:monthlyCeiling") {
		t.Errorf("ConfigureStack: %v", err)
	}
}

func TestPackPolicyConfigOverridesLevels(t *testing.T) {
	c := startPack(t)
	ctx := context.Background()
	configure(t, c, devConfig)
	if _, err := c.Configure(ctx, &pulumirpc.ConfigureAnalyzerRequest{PolicyConfig: map[string]*pulumirpc.PolicyConfig{
		"instance-class-allowed":  {EnforcementLevel: pulumirpc.EnforcementLevel_DISABLED},
		"rds-deletion-protection": {EnforcementLevel: pulumirpc.EnforcementLevel_MANDATORY},
	}}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Analyze(ctx, &pulumirpc.AnalyzeRequest{
		Urn: stackPrefix + "aws:rds/instance:Instance::dev-db", Type: "aws:rds/instance:Instance", Name: "dev-db",
		Properties: props(t, db()), Provider: providerResource(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := reduce(resp.GetDiagnostics())
	if len(only(got, "instance-class-allowed")) != 0 {
		t.Errorf("disabled rule reported: %v", got)
	}
	for _, d := range only(got, "rds-deletion-protection") {
		if d.level != "mandatory" {
			t.Errorf("override to mandatory not applied: %v", d)
		}
	}
	// An unknown stays advisory under a mandatory rule.
	if d := only(got, "rds-storage-encrypted"); len(d) != 1 || d[0].level != "advisory" {
		t.Errorf("preview unknown: %v", d)
	}
}

// The pack and rules.Evaluate (the offline review) give the same verdicts
// on the same stack, even though the engine hands the pack outputs in
// AnalyzeStack: a component's outputs are not its inputs.
func TestPackMatchesEvaluate(t *testing.T) {
	type res struct {
		urn, typ, name, parent string
		inputs, outputs        map[string]any
		provider               bool
		// deps are the engine's dependencies; propDeps go as property
		// dependencies (both reach the pack in AnalyzeStack only).
		deps, propDeps []string
	}
	eksURN := stackPrefix + "eks:index:Cluster::dev-eks"
	runnerRole := stackPrefix + "aws:iam/role:Role::dev-runner"
	stack := []res{
		{urn: eksURN, typ: "eks:index:Cluster", name: "dev-eks", inputs: map[string]any{
			"version": "1.34", "skipDefaultNodeGroup": true, "encryptionConfigKeyArn": kms,
			"enabledClusterLogTypes": []any{"api", "audit"}, "endpointPublicAccess": true,
		}, outputs: map[string]any{"kubeconfigJson": "{}"}},
		{urn: stackPrefix + "eks:index:Cluster$aws:eks/cluster:Cluster::dev-eks-eksCluster", typ: "aws:eks/cluster:Cluster",
			name: "dev-eks-eksCluster", parent: eksURN, provider: true, inputs: map[string]any{
				"version":          "1.34",
				"encryptionConfig": map[string]any{"resources": []any{"secrets"}, "provider": map[string]any{"keyArn": kms}},
				"vpcConfig":        map[string]any{"endpointPublicAccess": true, "publicAccessCidrs": []any{"0.0.0.0/0"}},
			}},
		{urn: stackPrefix + "eks:index:ManagedNodeGroup::dev-nodes", typ: "eks:index:ManagedNodeGroup", name: "dev-nodes",
			inputs: map[string]any{
				"instanceTypes": []any{"m6i.xlarge"}, "scalingConfig": map[string]any{"minSize": 1, "desiredSize": 2, "maxSize": computed},
			}, outputs: map[string]any{"nodeGroup": "ref"}},
		{urn: stackPrefix + "aws:rds/parameterGroup:ParameterGroup::dev-pg", typ: "aws:rds/parameterGroup:ParameterGroup",
			name: "dev-pg", provider: true, inputs: map[string]any{"name": "dev-pg16", "family": "postgres16", "parameters": []any{}}},
		{urn: stackPrefix + "aws:rds/instance:Instance::dev-db", typ: "aws:rds/instance:Instance", name: "dev-db", provider: true, inputs: db()},
		{urn: stackPrefix + "aws:cloudwatch/logGroup:LogGroup::dev-logs", typ: "aws:cloudwatch/logGroup:LogGroup",
			name: "dev-logs", inputs: map[string]any{"tags": map[string]any{"owner": "x"}}},
		// The CI runner: its role is linked to the project and to its
		// policy only through the engine's dependencies.
		{urn: runnerRole, typ: "aws:iam/role:Role", name: "dev-runner", provider: true, inputs: map[string]any{
			"assumeRolePolicy": `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":"codebuild.amazonaws.com"}}]}`}},
		{urn: stackPrefix + "aws:iam/rolePolicy:RolePolicy::dev-runner", typ: "aws:iam/rolePolicy:RolePolicy", name: "dev-runner",
			provider: true, propDeps: []string{runnerRole}, inputs: map[string]any{"role": "dev-runner-1",
				"policy": `{"Statement":[{"Effect":"Allow","Action":["logs:PutLogEvents","eks:*"],"Resource":"*"}]}`}},
		{urn: stackPrefix + "aws:codebuild/project:Project::dev-runner", typ: "aws:codebuild/project:Project", name: "dev-runner",
			provider: true, deps: []string{runnerRole}, inputs: map[string]any{"serviceRole": "arn:aws:iam::1:role/dev-runner-1",
				"vpcConfig":   map[string]any{"vpcId": "vpc-1", "subnets": []any{"subnet-1"}, "securityGroupIds": []any{"sg-1"}},
				"logsConfig":  map[string]any{"cloudwatchLogs": map[string]any{"status": "ENABLED", "groupName": "/aws/codebuild/dev-runner"}},
				"environment": map[string]any{"type": "LINUX_CONTAINER", "computeType": "BUILD_GENERAL1_SMALL"}}},
	}

	// The offline review's view: inventory resources, as the mocks record them.
	inv := []inventory.Resource{{URN: provURN, Type: "pulumi:providers:aws", Name: "aws-dev",
		Inputs: inventory.FromPropertyMap(resource.NewPropertyMapFromMap(provider))}}
	for _, r := range stack {
		x := inventory.Resource{URN: r.urn, Type: r.typ, Name: r.name, Parent: r.parent,
			Inputs: inventory.FromPropertyMap(resource.NewPropertyMapFromMap(r.inputs))}
		if r.provider {
			x.Provider = provURN + "::provider-id"
		}
		x.Dependencies = append(append([]string{}, r.deps...), r.propDeps...)
		inv = append(inv, x)
	}
	s, err := rules.ParseSettings(devConfig, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	want, err := rules.Evaluate(inv, s)
	if err != nil {
		t.Fatal(err)
	}

	// The pack's view, over gRPC.
	c := startPack(t)
	ctx := context.Background()
	configure(t, c, devConfig)
	var got []*pulumirpc.AnalyzeDiagnostic
	var stackReq pulumirpc.AnalyzeStackRequest
	for _, r := range stack {
		var prov *pulumirpc.AnalyzerProviderResource
		if r.provider {
			prov = providerResource(t)
		}
		resp, err := c.Analyze(ctx, &pulumirpc.AnalyzeRequest{
			Urn: r.urn, Type: r.typ, Name: r.name, Properties: props(t, r.inputs), Provider: prov,
			Options: &pulumirpc.AnalyzerResourceOptions{Parent: r.parent},
		})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.GetDiagnostics()...)
		outputs := r.outputs
		if outputs == nil {
			outputs = r.inputs
		}
		ar := &pulumirpc.AnalyzerResource{
			Urn: r.urn, Type: r.typ, Name: r.name, Parent: r.parent, Properties: props(t, outputs), Provider: prov,
			Dependencies: r.deps,
		}
		if len(r.propDeps) > 0 {
			ar.PropertyDependencies = map[string]*pulumirpc.AnalyzerPropertyDependencies{"role": {Urns: r.propDeps}}
		}
		stackReq.Resources = append(stackReq.Resources, ar)
	}
	resp, err := c.AnalyzeStack(ctx, &stackReq)
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, resp.GetDiagnostics()...)

	var wantDiags []diag
	for _, v := range want {
		wantDiags = append(wantDiags, diag{v.RuleID, v.URN, string(v.Level), v.Message})
	}
	gotDiags := reduce(got)
	sortDiags(gotDiags)
	sortDiags(wantDiags)
	assertDiags(t, gotDiags, wantDiags)
	for _, d := range gotDiags {
		t.Logf("%s", d)
	}
	if len(only(gotDiags, "cost-ceiling")) == 0 || len(only(gotDiags, "required-tags")) == 0 || len(only(gotDiags, "eks-endpoint-restricted")) != 2 {
		t.Errorf("the fixture should trip cost, tags and both EKS views:\n%v", gotDiags)
	}
	runner := only(gotDiags, "ci-runner-scoped")
	if len(runner) != 2 || !strings.Contains(runner[0].msg+runner[1].msg, "allows eks:*") {
		t.Errorf("the runner's role reaches the cluster (eks:*) and its logs go to no group of the stack: want both found through "+
			"the engine's dependencies, got %v", runner)
	}
}

func level(info *pulumirpc.AnalyzerInfo, rule string) pulumirpc.EnforcementLevel {
	for _, p := range info.GetPolicies() {
		if p.GetName() == rule {
			return p.GetEnforcementLevel()
		}
	}
	return -1
}

func only(ds []diag, rule string) []diag {
	var out []diag
	for _, d := range ds {
		if d.rule == rule {
			out = append(out, d)
		}
	}
	return out
}

func sortDiags(ds []diag) {
	sort.Slice(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		return a.rule+a.urn+a.msg < b.rule+b.urn+b.msg
	})
}

func assertDiags(t *testing.T, got, want []diag) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d diagnostics, want %d\ngot:  %v\nwant: %v", len(got), len(want), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("diagnostic %d\ngot:  %+v\nwant: %+v", i, got[i], want[i])
		}
	}
}
