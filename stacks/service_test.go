package stacks_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantco/platform/components"
	"github.com/tenantco/platform/internal/inventory"
	"github.com/tenantco/platform/internal/mockengine"
)

func only(t *testing.T, e *mockengine.Engine, typ string) inventory.Resource {
	t.Helper()
	rs := e.Find(typ)
	require.Len(t, rs, 1, typ)
	return rs[0]
}

func named(t *testing.T, e *mockengine.Engine, typ, suffix string) inventory.Resource {
	t.Helper()
	for _, r := range e.Find(typ) {
		if strings.HasSuffix(r.Name, suffix) {
			return r
		}
	}
	t.Fatalf("no %s named *%s", typ, suffix)
	return inventory.Resource{}
}

// roleTrust is a role's one trust statement, for roles whose conditions
// hold single strings (IRSA and service principals).
type roleTrust struct {
	Effect, Action string
	Principal      map[string]string
	Condition      map[string]map[string]string
}

// onlyTrust parses the role's trust policy and requires exactly one
// statement: a second one could widen who may assume it.
func onlyTrust(t *testing.T, role inventory.Resource) roleTrust {
	t.Helper()
	var trust struct{ Statement []roleTrust }
	require.NoError(t, json.Unmarshal([]byte(mustString(t, role, "assumeRolePolicy")), &trust))
	require.Len(t, trust.Statement, 1)
	return trust.Statement[0]
}

func TestServiceWorkloadIsHardened(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)
			dep := named(t, e, "kubernetes:apps/v1:Deployment", "-tenantd")
			c, _ := dep.Get("spec.template.spec.containers.0")
			require.NotNil(t, c)
			for path, want := range map[string]any{
				"spec.template.spec.containers.0.readinessProbe.httpGet.path":              "/readyz",
				"spec.template.spec.containers.0.livenessProbe.httpGet.path":               "/healthz",
				"spec.template.spec.containers.0.securityContext.runAsNonRoot":             true,
				"spec.template.spec.containers.0.securityContext.readOnlyRootFilesystem":   true,
				"spec.template.spec.containers.0.securityContext.allowPrivilegeEscalation": false,
				"spec.template.spec.containers.0.securityContext.capabilities.drop.0":      "ALL",
				"spec.template.spec.containers.0.securityContext.seccompProfile.type":      "RuntimeDefault",
				"spec.template.spec.securityContext.seccompProfile.type":                   "RuntimeDefault",
				"spec.template.spec.topologySpreadConstraints.0.topologyKey":               "topology.kubernetes.io/zone",
				"spec.template.spec.containers.0.resources.limits.memory":                  "512Mi",
				"spec.template.spec.containers.0.resources.requests.cpu":                   "250m",
				"spec.template.spec.containers.0.envFrom.0.secretRef.name":                 "tenantd",
				"spec.template.spec.topologySpreadConstraints.0.whenUnsatisfiable":         map[string]string{"dev": "ScheduleAnyway", "prod": "DoNotSchedule"}[stack],
			} {
				got, _ := dep.Get(path)
				assert.Equal(t, want, got, path)
			}
			replicas, _ := dep.Number("spec.replicas")
			assert.GreaterOrEqual(t, replicas, 2.0, "at least 2 replicas")
			img, _ := dep.String("spec.template.spec.containers.0.image")
			assert.Contains(t, img, ".dkr.ecr.", "image comes from the program's ECR repository")
			// No credential is passed as plain env.
			for i := 0; i < 20; i++ {
				name, ok := dep.String("spec.template.spec.containers.0.env." + string(rune('0'+i%10)) + ".name")
				if !ok {
					break
				}
				assert.NotContains(t, []string{"DATABASE_URL", "REDIS_PASSWORD", "ADMIN_TOKEN"}, name)
			}

			// Secret values make the whole stringData a secret on the wire.
			for _, suffix := range []string{"-tenantd", "-tenantd-bootstrap"} {
				secret := named(t, e, "kubernetes:core/v1:Secret", suffix)
				v, _ := secret.String("stringData")
				assert.Equal(t, inventory.Secret, v, "%s credentials are secret", suffix)
			}

			pdb := only(t, e, "kubernetes:policy/v1:PodDisruptionBudget")
			minAvail, _ := pdb.Number("spec.minAvailable")
			assert.Equal(t, 1.0, minAvail)
			hpa := only(t, e, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")
			lo, _ := hpa.Number("spec.minReplicas")
			hi, _ := hpa.Number("spec.maxReplicas")
			assert.Equal(t, 2.0, lo)
			assert.Equal(t, map[string]float64{"dev": 3, "prod": 6}[stack], hi)

			job := named(t, e, "kubernetes:batch/v1:Job", "-migrate")
			cmd := job.Strings("spec.template.spec.containers.0.command")
			assert.Equal(t, []string{"/usr/local/bin/tenantd", "migrate", "-workers", "4"}, cmd)
			boot := named(t, e, "kubernetes:batch/v1:Job", "-bootstrap")
			assert.Equal(t, []string{"/usr/local/bin/tenantd", "bootstrap"}, boot.Strings("spec.template.spec.containers.0.command"))
			assert.Contains(t, job.Dependencies, boot.URN, "migrations run after the role exists")
			assert.Contains(t, dep.Dependencies, job.URN, "the Deployment rolls after the migrations")
			// Each workload its own identity; only the two that call AWS get
			// a service account token.
			for r, want := range map[*inventory.Resource][2]any{
				&job:  {"tenantd", false},
				&boot: {components.BootstrapServiceAccount, true},
				&dep:  {"tenantd", false},
			} {
				sa, _ := r.String("spec.template.spec.serviceAccountName")
				token, _ := r.Bool("spec.template.spec.automountServiceAccountToken")
				assert.Equal(t, want[0], sa, r.Name)
				assert.Equal(t, want[1], token, "%s service account token", r.Name)
			}
			cron := only(t, e, "kubernetes:batch/v1:CronJob")
			sa, _ := cron.String("spec.jobTemplate.spec.template.spec.serviceAccountName")
			assert.Equal(t, components.CostReportServiceAccount, sa)
			sched, _ := cron.String("spec.schedule")
			assert.Equal(t, "0 7 * * *", sched)
			// Only the serving container has a port and probes: the Job and
			// the report run to completion.
			for what, path := range map[string]string{
				"migrations": "spec.template.spec.containers.0", "bootstrap": "spec.template.spec.containers.0",
				"cost report": "spec.jobTemplate.spec.template.spec.containers.0",
			} {
				r := map[string]inventory.Resource{"migrations": job, "bootstrap": boot, "cost report": cron}[what]
				_, present := r.Get(path + ".command")
				require.True(t, present, "%s: no container at %s", what, path)
				for _, field := range []string{"readinessProbe", "livenessProbe", "ports"} {
					_, has := r.Get(path + "." + field)
					assert.False(t, has, "%s container has %s", what, field)
				}
			}

			ns := only(t, e, "kubernetes:core/v1:Namespace")
			psa, _ := ns.String("metadata.labels.pod-security\\.kubernetes\\.io/enforce")
			_ = psa // dotted label keys are not addressable by path; check the map instead
			labels, _ := ns.Get("metadata.labels")
			assert.Equal(t, "restricted", labels.(map[string]any)["pod-security.kubernetes.io/enforce"])

			svc := named(t, e, "kubernetes:core/v1:Service", "-tenantd")
			typ, _ := svc.String("spec.type")
			np, _ := svc.Number("spec.ports.0.nodePort")
			assert.Equal(t, "NodePort", typ, "no cloud load balancer from Kubernetes: the ALB is the program's")
			assert.Equal(t, 30080.0, np)
		})
	}
}

func TestMetricsNotServedToTheInternet(t *testing.T) {
	e := evaluate(t, "prod", false)
	rule := only(t, e, "aws:lb/listenerRule:ListenerRule")
	assert.Equal(t, []string{"/metrics", "/metrics/*"}, rule.Strings("conditions.0.pathPattern.values"))
	code, _ := rule.String("actions.0.fixedResponse.statusCode")
	assert.Equal(t, "404", code)
	l := only(t, e, "aws:lb/listener:Listener")
	port, _ := l.Number("port")
	proto, _ := l.String("protocol")
	assert.Equal(t, 443.0, port)
	assert.Equal(t, "HTTPS", proto)
}

func TestNetworkPoliciesDenyByDefault(t *testing.T) {
	e := evaluate(t, "prod", false)
	var deny, allow inventory.Resource
	for _, np := range e.Find("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		switch {
		case strings.HasSuffix(np.Name, "default-deny"):
			deny = np
		case strings.HasSuffix(np.Name, "allow-server"):
			allow = np
		}
	}
	require.NotEmpty(t, deny.URN)
	sel, _ := deny.Get("spec.podSelector")
	assert.Empty(t, sel, "default deny selects every pod")
	assert.ElementsMatch(t, []string{"Ingress", "Egress"}, deny.Strings("spec.policyTypes"))
	port, _ := allow.Number("spec.ingress.0.ports.0.port")
	assert.Equal(t, 8080.0, port)
	from, _ := allow.String("spec.ingress.0.from.0.ipBlock.cidr")
	assert.Equal(t, "10.0.0.0/16", from)
	db0, _ := allow.String("spec.egress.1.to.0.ipBlock.cidr")
	assert.Equal(t, "10.0.10.0/24", db0, "database egress only to the database subnets")
}

// TestIRSATrustAndLeastPrivilege: only the bootstrap Job may read the RDS
// master secret and only the cost report Cost Explorer; each role trusts its
// own service account, exactly, and the tenantd pods have no AWS role at all
// (they could otherwise read rds_superuser credentials and step around the
// per-tenant roles).
func TestIRSATrustAndLeastPrivilege(t *testing.T) {
	e := evaluate(t, "prod", false)
	for suffix, want := range map[string]struct {
		sa      string
		actions []string
	}{
		"tenantd-bootstrap":   {components.BootstrapServiceAccount, []string{"secretsmanager:GetSecretValue", "kms:Decrypt"}},
		"tenantd-cost-report": {components.CostReportServiceAccount, []string{"ce:GetCostAndUsage", "sns:Publish"}},
	} {
		role := named(t, e, "aws:iam/role:Role", suffix)
		st := onlyTrust(t, role)
		assert.Equal(t, "sts:AssumeRoleWithWebIdentity", st.Action)
		assert.Contains(t, st.Principal["Federated"], ":oidc-provider/oidc.eks.")
		var sub, aud string
		for k, v := range st.Condition["StringEquals"] {
			switch {
			case strings.HasSuffix(k, ":sub"):
				sub = v
			case strings.HasSuffix(k, ":aud"):
				aud = v
			}
		}
		assert.Equal(t, "system:serviceaccount:tenant-service:"+want.sa, sub, "only its own service account")
		assert.Equal(t, "sts.amazonaws.com", aud)

		pol := named(t, e, "aws:iam/rolePolicy:RolePolicy", suffix)
		raw, _ := pol.String("policy")
		var doc struct {
			Statement []struct {
				Effect   string
				Action   any
				Resource any
			}
		}
		require.NoError(t, json.Unmarshal([]byte(raw), &doc))
		var actions []string
		for _, s := range doc.Statement {
			require.Equal(t, "Allow", s.Effect)
			actions = append(actions, s.Action.(string))
			if s.Resource == "*" {
				assert.Equal(t, "ce:GetCostAndUsage", s.Action, "only Cost Explorer has no resource scope")
			}
		}
		assert.ElementsMatch(t, want.actions, actions, suffix)
	}
	for _, sa := range e.Find("kubernetes:core/v1:ServiceAccount") {
		name, _ := sa.String("metadata.name")
		annotations, _ := sa.Get("metadata.annotations")
		if name == "tenantd" {
			assert.Nil(t, annotations, "tenantd's own service account has no IAM role")
		}
	}
	for _, r := range e.Find("aws:iam/rolePolicy:RolePolicy") {
		doc, _ := r.String("policy")
		var p iamPolicy
		require.NoError(t, json.Unmarshal([]byte(doc), &p))
		if p.allows("secretsmanager:GetSecretValue") && !strings.HasSuffix(r.Name, "-deploy") {
			assert.True(t, strings.HasSuffix(r.Name, "tenantd-bootstrap"), "%s may read secrets", r.Name)
		}
	}
}

func TestBudgetBreakers(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			e := evaluate(t, stack, false)
			b := only(t, e, "aws:budgets/budget:Budget")
			amount, _ := b.String("limitAmount")
			assert.Equal(t, map[string]string{"dev": "600.00", "prod": "1500.00"}[stack], amount)
			type n struct {
				pct  float64
				kind string
			}
			var got []n
			for i := 0; i < 4; i++ {
				p := "notifications." + string(rune('0'+i))
				pct, _ := b.Number(p + ".threshold")
				kind, _ := b.String(p + ".notificationType")
				topics := b.Strings(p + ".subscriberSnsTopicArns")
				assert.Len(t, topics, 1, "every alert goes to the topic")
				got = append(got, n{pct, kind})
			}
			assert.ElementsMatch(t, []n{{90, "ACTUAL"}, {100, "ACTUAL"}, {100, "FORECASTED"}, {200, "ACTUAL"}}, got)
			filter, _ := b.String("costFilters.0.values.0")
			assert.Equal(t, "user:stack$"+stack, filter)

			actions := map[string]inventory.Resource{}
			for _, a := range e.Find("aws:budgets/budgetAction:BudgetAction") {
				typ, _ := a.String("actionType")
				actions[typ] = a
			}
			freeze := actions["APPLY_IAM_POLICY"]
			require.NotEmpty(t, freeze.URN, "the 100 % freeze exists in every stack")
			th, _ := freeze.Number("actionThreshold.actionThresholdValue")
			assert.Equal(t, 100.0, th)
			roles := freeze.Strings("definition.iamActionDefinition.roles")
			require.Len(t, roles, 1)
			assert.Contains(t, roles[0], "-deploy", "the freeze targets the deploy role")
			approval, _ := freeze.String("approvalModel")
			assert.Equal(t, "AUTOMATIC", approval)

			stop, hasStop := actions["RUN_SSM_DOCUMENTS"]
			lambdas := e.Find("aws:lambda/function:Function")
			if stack == "prod" {
				assert.False(t, hasStop, "prod never stops serving")
				assert.Empty(t, lambdas)
				return
			}
			require.True(t, hasStop)
			th, _ = stop.Number("actionThreshold.actionThresholdValue")
			sub, _ := stop.String("definition.ssmActionDefinition.actionSubType")
			ids := stop.Strings("definition.ssmActionDefinition.instanceIds")
			assert.Equal(t, 200.0, th)
			assert.Equal(t, "STOP_RDS_INSTANCES", sub)
			assert.Equal(t, []string{"platform-dev-db"}, ids)
			require.Len(t, lambdas, 1)
			// The node group's name is generated (create-before-delete on
			// replacement): the function scales the group the program made.
			ng, _ := lambdas[0].String("environment.variables.NODEGROUP_NAME")
			group := only(t, e, "eks:index:ManagedNodeGroup")
			name, _ := group.String("nodeGroupName")
			assert.Equal(t, name, ng)
			assert.Regexp(t, `^platform-dev-nodes-[0-9a-f]{8}$`, ng)
		})
	}
}

func TestFreezePolicyDeniesGrowthOnly(t *testing.T) {
	e := evaluate(t, "prod", false)
	p := named(t, e, "aws:iam/policy:Policy", "-freeze")
	raw, _ := p.String("policy")
	var doc struct {
		Statement []struct {
			Effect string
			Action []string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &doc))
	require.Len(t, doc.Statement, 1)
	assert.Equal(t, "Deny", doc.Statement[0].Effect)
	assert.Equal(t, components.FreezeActions, doc.Statement[0].Action)
	for _, a := range doc.Statement[0].Action {
		assert.NotContains(t, strings.ToLower(a), "delete", "shrinking must stay possible")
	}
	for _, want := range []string{"ec2:RunInstances", "rds:CreateDBInstance", "elasticache:CreateReplicationGroup", "eks:UpdateNodegroupConfig"} {
		assert.Contains(t, doc.Statement[0].Action, want)
	}
}

func TestAlarmsAndDashboard(t *testing.T) {
	e := evaluate(t, "prod", false)
	thresholds := map[string]float64{}
	for _, a := range e.Find("aws:cloudwatch/metricAlarm:MetricAlarm") {
		th, _ := a.Number("threshold")
		thresholds[strings.TrimPrefix(a.Name, "platform-prod-")] = th
		acts := a.Strings("alarmActions")
		require.Len(t, acts, 1, a.Name)
		assert.Contains(t, acts[0], ":sns:", "%s pages through the topic", a.Name)
	}
	assert.Equal(t, 80.0, thresholds["rds-cpu"])
	_, stale := thresholds["rds-free-storage"]
	assert.False(t, stale, "no free-storage threshold fixed at deploy time: storage autoscaling grows the disk under it")
	assert.Equal(t, 80.0, thresholds["redis-memory-001"])
	assert.Equal(t, 80.0, thresholds["redis-memory-002"])
	assert.Equal(t, 5.0, thresholds["lb-5xx-rate"])
	assert.Equal(t, 0.0, thresholds["unhealthy-targets"])

	dash := only(t, e, "aws:cloudwatch/dashboard:Dashboard")
	body, _ := dash.String("dashboardBody")
	var doc struct {
		Widgets []struct {
			Properties struct {
				Title   string
				Metrics [][]any
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body), &doc), "dashboard JSON is valid")
	refs := map[string]bool{}
	for _, w := range doc.Widgets {
		for _, m := range w.Properties.Metrics {
			for i := 2; i+1 < len(m); i += 2 {
				if s, ok := m[i+1].(string); ok {
					refs[m[i].(string)+"="+s] = true
				}
			}
		}
	}
	assert.True(t, refs["DBInstanceIdentifier=platform-prod-db"], "RDS widgets name the stack's instance")
	assert.True(t, refs["CacheClusterId=platform-prod-redis-001"])
	assert.True(t, refs["Currency=USD"], "estimated charges")
	db := only(t, e, "aws:rds/instance:Instance")
	id, _ := db.String("identifier")
	assert.Equal(t, "platform-prod-db", id, "the dashboard references an instance that exists")
	rg := only(t, e, "aws:elasticache/replicationGroup:ReplicationGroup")
	rgID, _ := rg.String("replicationGroupId")
	assert.Equal(t, "platform-prod-redis", rgID)
	var lbRef bool
	for k := range refs {
		lbRef = lbRef || strings.HasPrefix(k, "LoadBalancer=")
	}
	assert.True(t, lbRef, "load balancer widgets")
}

func TestDeployRoleTrustsOnlyThisRepositoryEnvironment(t *testing.T) {
	e := evaluate(t, "prod", false)
	role := named(t, e, "aws:iam/role:Role", "-deploy")
	raw, _ := role.String("assumeRolePolicy")
	var trust struct {
		Statement []struct {
			Action    string
			Condition map[string]map[string]any
		}
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &trust))
	require.Len(t, trust.Statement, 1)
	cond := trust.Statement[0].Condition["StringEquals"]
	assert.Equal(t, "sts.amazonaws.com", cond["token.actions.githubusercontent.com:aud"])
	assert.Equal(t, []any{"repo:tenantco/platform:environment:prod"}, cond["token.actions.githubusercontent.com:sub"])
	assert.NotContains(t, raw, "StringLike", "no wildcards in the subject")
	cl := only(t, e, "eks:index:Cluster")
	principal, _ := cl.String("accessEntries.deploy.principalArn")
	assert.Contains(t, principal, "-deploy", "the pipeline's role may deploy onto the cluster")
	oidc := named(t, e, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "-github")
	url, _ := oidc.String("url")
	assert.Equal(t, components.GitHubOIDCURL, url)
}
