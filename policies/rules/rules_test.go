package rules

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tenantco/platform/internal/inventory"
)

// run returns the violations of one rule's resource check on r.
func run(ruleID string, r inventory.Resource, provider *inventory.Resource, env string) []Violation {
	var out []Violation
	for _, v := range CheckResource(r, provider, settings(env)) {
		if v.RuleID == ruleID {
			out = append(out, v)
		}
	}
	return out
}

// want is an expected violation: its level and a substring of its message.
type want struct {
	level Enforcement
	msg   string
}

func mand(msg string) want { return want{Mandatory, msg} }
func adv(msg string) want  { return want{Advisory, msg} }

func assertViolations(t *testing.T, got []Violation, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d violations, want %d:\n%s", len(got), len(wants), dump(got))
	}
	for i, w := range wants {
		if got[i].Level != w.level || !strings.Contains(got[i].Message, w.msg) {
			t.Errorf("violation %d = %s\nwant [%s] ...%s...", i, got[i], w.level, w.msg)
		}
	}
}

func dump(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString("  " + v.String() + "\n")
	}
	return b.String()
}

func TestResourceRules(t *testing.T) {
	p := &awsProvider
	sshWorld := awsRes(typeSGIngressRule, "ssh", map[string]any{
		"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 22.0, "toPort": 22.0,
	})
	sgRule := awsRes(typeSGRule, "node-https", map[string]any{
		"type": "ingress", "cidrBlocks": list("10.0.0.0/16"), "protocol": "tcp", "fromPort": 443.0, "toPort": 443.0,
	})
	inlineSG := awsRes(typeSG, "legacy", map[string]any{"ingress": list(
		map[string]any{"cidrBlocks": list("10.0.0.0/8"), "protocol": "tcp", "fromPort": 5432.0, "toPort": 5432.0},
	)})
	volume := awsRes(typeEBSVolume, "data", map[string]any{"encrypted": true, "size": 10.0})
	instance := awsRes(typeEC2Instance, "bastion", map[string]any{
		"instanceType": "t3.medium", "rootBlockDevice": map[string]any{"encrypted": true},
		"metadataOptions": map[string]any{"httpTokens": "required"},
	})
	eksNodeGroup := awsRes("aws:eks/nodeGroup:NodeGroup", "dev-nodes-ng", map[string]any{"instanceTypes": list("t3.large")})
	bucket := awsRes("aws:s3/bucket:Bucket", "assets", map[string]any{})

	cases := []struct {
		name string
		rule string
		r    inventory.Resource
		env  string
		want []want
	}{
		// RDS
		{"multi-az on", "rds-multi-az", goodDB, Prod, nil},
		{"multi-az off in prod", "rds-multi-az", with(goodDB, "multiAz", false), Prod, []want{mand("multiAz is false")}},
		{"multi-az unset in dev is advisory", "rds-multi-az", with(goodDB, "multiAz", deleted), Dev, []want{adv("multiAz is not set (default false)")}},
		{"encrypted with kms", "rds-storage-encrypted", goodDB, Dev, nil},
		{"unencrypted", "rds-storage-encrypted", with(goodDB, "storageEncrypted", false), Dev, []want{mand("storageEncrypted is false")}},
		{"encrypted without kms key", "rds-storage-encrypted", with(goodDB, "kmsKeyId", deleted), Dev, []want{mand("kmsKeyId is not set")}},
		{"private", "rds-not-publicly-accessible", with(goodDB, "publiclyAccessible", deleted), Dev, nil},
		{"public", "rds-not-publicly-accessible", with(goodDB, "publiclyAccessible", true), Dev, []want{mand("publiclyAccessible is true")}},
		{"backups 7 days", "rds-backup-retention", goodDB, Prod, nil},
		{"backups 1 day in prod", "rds-backup-retention", with(goodDB, "backupRetentionPeriod", 1.0), Prod, []want{mand("backupRetentionPeriod is 1 days: need >= 7")}},
		{"backups unset in dev", "rds-backup-retention", with(goodDB, "backupRetentionPeriod", deleted), Dev, []want{adv("AWS default 1 day")}},
		{"deletion protected", "rds-deletion-protection", goodDB, Prod, nil},
		{"unprotected in prod", "rds-deletion-protection", with(with(goodDB, "deletionProtection", false), "skipFinalSnapshot", true), Prod,
			[]want{mand("deletionProtection is false"), mand("skipFinalSnapshot is true")}},
		{"unprotected in dev is advisory", "rds-deletion-protection", with(goodDB, "deletionProtection", deleted), Dev, []want{adv("deletionProtection is not set")}},
		{"managed password", "rds-managed-credentials", goodDB, Dev, nil},
		{"iam auth with secret password", "rds-managed-credentials",
			with(with(with(goodDB, "manageMasterUserPassword", deleted), "iamDatabaseAuthenticationEnabled", true), "password", inventory.Secret), Dev, nil},
		{"static password", "rds-managed-credentials", with(goodDB, "manageMasterUserPassword", false), Dev,
			[]want{mand("neither manageMasterUserPassword nor iamDatabaseAuthenticationEnabled")}},
		{"plaintext password", "rds-managed-credentials", with(goodDB, "password", "hunter2hunter2"), Dev, []want{mand("password is set in plaintext")}},
		{"instance with own parameter group", "rds-force-ssl", goodDB, Dev, nil},
		{"instance without parameter group", "rds-force-ssl", with(goodDB, "parameterGroupName", deleted), Dev, []want{mand("parameterGroupName is not set")}},
		{"instance with default group", "rds-force-ssl", with(goodDB, "parameterGroupName", "default.postgres16"), Dev, []want{mand(`"default.postgres16" is a default parameter group`)}},
		{"group forces ssl", "rds-force-ssl", goodParameterGroup, Dev, nil},
		{"group with force_ssl 0", "rds-force-ssl", with(goodParameterGroup, "parameters.1.value", "0"), Dev, []want{mand("rds.force_ssl is 0")}},
		{"group without force_ssl", "rds-force-ssl", with(goodParameterGroup, "parameters", list()), Dev, []want{mand("does not set rds.force_ssl = 1")}},
		{"mysql group needs no force_ssl", "rds-force-ssl", with(with(goodParameterGroup, "family", "mysql8.0"), "parameters", list()), Dev, nil},

		// ElastiCache
		{"transit encrypted", "elasticache-transit-encryption", goodCache, Dev, nil},
		{"transit in clear", "elasticache-transit-encryption", with(goodCache, "transitEncryptionEnabled", deleted), Dev, []want{mand("transitEncryptionEnabled is not set")}},
		{"at rest encrypted", "elasticache-at-rest-encryption", goodCache, Dev, nil},
		{"at rest in clear", "elasticache-at-rest-encryption", with(goodCache, "atRestEncryptionEnabled", false), Dev, []want{mand("atRestEncryptionEnabled is false")}},
		{"auth token (secret)", "elasticache-auth-token", goodCache, Dev, nil},
		{"no auth token", "elasticache-auth-token", with(goodCache, "authToken", deleted), Dev, []want{mand("authToken is not set")}},
		{"failover", "elasticache-automatic-failover", goodCache, Prod, nil},
		{"cluster mode with replicas", "elasticache-automatic-failover", with(with(goodCache, "numCacheClusters", deleted), "replicasPerNodeGroup", 1.0), Prod, nil},
		{"single node in prod", "elasticache-automatic-failover",
			with(with(with(goodCache, "numCacheClusters", 1.0), "automaticFailoverEnabled", false), "multiAzEnabled", deleted), Prod,
			[]want{mand("automaticFailoverEnabled is false"), mand("multiAzEnabled is not set"), mand("numCacheClusters is 1")}},
		{"single node in dev is advisory", "elasticache-automatic-failover", with(goodCache, "numCacheClusters", 1.0), Dev, []want{adv("numCacheClusters is 1")}},

		// EKS, both views
		{"component encrypts secrets", "eks-secrets-encryption", goodEKS, Dev, nil},
		{"component without key", "eks-secrets-encryption", with(goodEKS, "encryptionConfigKeyArn", deleted), Dev, []want{mand("encryptionConfigKeyArn is not set")}},
		{"cluster encrypts secrets", "eks-secrets-encryption", goodEKSCluster, Dev, nil},
		{"cluster without encryptionConfig", "eks-secrets-encryption", with(goodEKSCluster, "encryptionConfig", deleted), Dev,
			[]want{mand(`encryptionConfig.resources does not contain "secrets"`), mand("encryptionConfig.provider.keyArn is not set")}},
		{"cluster encryptionConfig as a list", "eks-secrets-encryption",
			with(goodEKSCluster, "encryptionConfig", list(map[string]any{"resources": list("secrets"), "provider": map[string]any{"keyArn": kmsARN}})), Dev, nil},
		{"component logs", "eks-control-plane-logging", goodEKS, Dev, nil},
		{"component without audit logs", "eks-control-plane-logging", with(goodEKS, "enabledClusterLogTypes", list("api")), Dev, []want{mand("lacks audit, authenticator")}},
		{"cluster logs", "eks-control-plane-logging", goodEKSCluster, Dev, nil},
		{"cluster without logs", "eks-control-plane-logging", with(goodEKSCluster, "enabledClusterLogTypes", deleted), Dev, []want{mand("lacks api, audit, authenticator")}},
		{"component public endpoint restricted", "eks-endpoint-restricted", goodEKS, Dev, nil},
		{"component public by default, no cidrs", "eks-endpoint-restricted", with(with(goodEKS, "endpointPublicAccess", deleted), "publicAccessCidrs", deleted), Dev,
			[]want{mand("open to 0.0.0.0/0: publicAccessCidrs is not set")}},
		{"component open to the world", "eks-endpoint-restricted", with(goodEKS, "publicAccessCidrs", list("203.0.113.0/24", "::/0")), Dev, []want{mand("open to ::/0")}},
		{"cluster private endpoint", "eks-endpoint-restricted", goodEKSCluster, Dev, nil},
		{"cluster public endpoint open", "eks-endpoint-restricted", with(goodEKSCluster, "vpcConfig.endpointPublicAccess", true), Dev,
			[]want{mand("vpcConfig.publicAccessCidrs is not set")}},
		{"cluster public endpoint restricted", "eks-endpoint-restricted",
			with(with(goodEKSCluster, "vpcConfig.endpointPublicAccess", true), "vpcConfig.publicAccessCidrs", list("198.51.100.7/32")), Dev, nil},

		// Security groups
		{"load balancer https from the world", "sg-no-world-ingress", goodLBIngress, Prod, nil},
		{"load balancer http from the world", "sg-no-world-ingress", with(with(goodLBIngress, "fromPort", 80.0), "toPort", 80.0), Prod,
			[]want{mand("ingress from 0.0.0.0/0 on tcp port 80; the load-balancer rule may open tcp 443 only")}},
		{"load balancer all protocols", "sg-no-world-ingress", with(goodLBIngress, "ipProtocol", "-1"), Prod, []want{mand("all protocols")}},
		{"untagged https from the world", "sg-no-world-ingress", with(goodLBIngress, "tags", deleted), Prod,
			[]want{mand("ingress from 0.0.0.0/0 on tcp port 443; only tcp 443 on the ingress rule tagged network-role=public-load-balancer")}},
		{"ssh from the world", "sg-no-world-ingress", sshWorld, Dev, []want{mand("on tcp port 22")}},
		{"ipv6 world", "sg-no-world-ingress", with(with(sshWorld, "cidrIpv4", deleted), "cidrIpv6", "::/0"), Dev, []want{mand("ingress from ::/0")}},
		{"sg rule from the vpc", "sg-no-world-ingress", sgRule, Dev, nil},
		{"sg rule from the world", "sg-no-world-ingress", with(sgRule, "cidrBlocks", list("10.0.0.0/16", "0.0.0.0/0")), Dev,
			[]want{mand("ingress from 0.0.0.0/0 on tcp port 443")}},
		{"sg rule egress to the world", "sg-no-world-ingress", with(with(sgRule, "type", "egress"), "cidrBlocks", list("0.0.0.0/0")), Dev, nil},
		{"sg rule all protocols ipv6", "sg-no-world-ingress", with(with(sgRule, "ipv6CidrBlocks", list("::/0")), "protocol", "-1"), Dev, []want{mand("all protocols")}},
		{"inline ingress private", "sg-no-world-ingress", inlineSG, Dev, nil},
		{"inline ingress from the world", "sg-no-world-ingress", with(inlineSG, "ingress.0.cidrBlocks", list("0.0.0.0/0")), Dev,
			[]want{mand("ingress.0: ingress from 0.0.0.0/0 on tcp port 5432")}},

		// EBS and IMDS
		{"launch template encrypted", "ebs-encrypted", goodLaunchTemplate, Dev, nil},
		{"launch template unencrypted", "ebs-encrypted", with(goodLaunchTemplate, "blockDeviceMappings.0.ebs.encrypted", "false"), Dev,
			[]want{mand("blockDeviceMappings.0.ebs.encrypted is false")}},
		{"launch template encryption unset", "ebs-encrypted", with(goodLaunchTemplate, "blockDeviceMappings.0.ebs", map[string]any{"volumeSize": 20.0}), Dev,
			[]want{mand("blockDeviceMappings.0.ebs.encrypted is not set")}},
		{"launch template without mappings", "ebs-encrypted", with(goodLaunchTemplate, "blockDeviceMappings", deleted), Dev, []want{mand("blockDeviceMappings is not set")}},
		{"launch template instance store mapping", "ebs-encrypted",
			with(goodLaunchTemplate, "blockDeviceMappings", list(map[string]any{"deviceName": "/dev/sdb", "virtualName": "ephemeral0"})), Dev, nil},
		{"volume encrypted", "ebs-encrypted", volume, Dev, nil},
		{"volume unencrypted", "ebs-encrypted", with(volume, "encrypted", deleted), Dev, []want{mand("encrypted is not set")}},
		{"instance root encrypted", "ebs-encrypted", instance, Dev, nil},
		{"instance root unencrypted", "ebs-encrypted", with(instance, "rootBlockDevice", deleted), Dev, []want{mand("rootBlockDevice.encrypted is not set")}},
		{"instance extra volume unencrypted", "ebs-encrypted", with(instance, "ebsBlockDevices", list(map[string]any{"encrypted": false})), Dev,
			[]want{mand("ebsBlockDevices.0.encrypted is false")}},
		{"launch template imdsv2", "ec2-imdsv2-required", goodLaunchTemplate, Dev, nil},
		{"launch template imdsv1", "ec2-imdsv2-required", with(goodLaunchTemplate, "metadataOptions.httpTokens", "optional"), Dev, []want{mand(`httpTokens is "optional"`)}},
		{"instance without metadata options", "ec2-imdsv2-required", with(instance, "metadataOptions", deleted), Dev, []want{mand("httpTokens is not set")}},

		// Tags
		{"tags from provider defaults", "required-tags", goodDB, Dev, nil},
		{"no provider, own tags", "required-tags", with(bucket, "tags", map[string]any{"cost-center": "x", "owner": "y", "environment": "dev"}), Dev, nil},
		{"untaggable type", "required-tags", awsRes("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "attach", map[string]any{}), Dev, nil},
		{"own tag overrides default with empty", "required-tags", with(goodDB, "tags", map[string]any{"owner": ""}), Dev, []want{mand("missing required tags owner")}},

		// Instance classes
		{"dev class", "instance-class-allowed", goodDB, Dev, nil},
		{"prod class in dev", "instance-class-allowed", with(goodDB, "instanceClass", "db.m6g.large"), Dev, []want{mand("instanceClass db.m6g.large is not allowed in dev")}},
		{"prod class in prod", "instance-class-allowed", with(goodDB, "instanceClass", "db.m6g.large"), Prod, nil},
		{"huge class in prod", "instance-class-allowed", with(goodDB, "instanceClass", "db.r6g.8xlarge"), Prod, []want{mand("instanceClass db.r6g.8xlarge is not allowed in prod")}},
		{"cache node type", "instance-class-allowed", with(goodCache, "nodeType", "cache.r7g.large"), Dev, []want{mand("nodeType cache.r7g.large")}},
		{"managed node group", "instance-class-allowed", with(goodNodeGroup, "instanceTypes", list("t3.medium", "m6i.xlarge")), Dev, []want{mand("instanceTypes m6i.xlarge")}},
		{"aws node group", "instance-class-allowed", eksNodeGroup, Dev, nil},
		{"launch template type", "instance-class-allowed", with(goodLaunchTemplate, "instanceType", "c6i.large"), Prod, []want{mand("instanceType c6i.large")}},
		{"eks default node group", "instance-class-allowed", with(goodEKS, "skipDefaultNodeGroup", deleted), Dev, []want{mand("t2.medium is not allowed")}},
		{"unknown environment gets prod list", "instance-class-allowed", with(goodDB, "instanceClass", "db.m6g.large"), "staging", nil},

		// Log groups
		{"retention set", "log-group-retention", goodLogGroup, Dev, nil},
		{"kept forever", "log-group-retention", with(goodLogGroup, "retentionInDays", deleted), Dev, []want{mand("retentionInDays is not set")}},
	}
	for _, c := range cases {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			assertViolations(t, run(c.rule, c.r, p, c.env), c.want)
		})
	}
}

// Unknown values (preview): never a crash, never a silent pass, never a
// block: the rule reports what it could not verify, as advisory. Secrets
// the rule would have to read are treated alike.
func TestUnknownValuesArePreviewAdvisories(t *testing.T) {
	cases := []struct {
		name string
		rule string
		r    inventory.Resource
		want []want
	}{
		{"kms key", "rds-storage-encrypted", with(goodDB, "kmsKeyId", unk), []want{adv("cannot verify during preview: kmsKeyId unknown")}},
		{"unknown key still fails a known false", "rds-storage-encrypted", with(with(goodDB, "kmsKeyId", unk), "storageEncrypted", false),
			[]want{mand("storageEncrypted is false"), adv("kmsKeyId unknown")}},
		{"parameter group name", "rds-force-ssl", with(goodDB, "parameterGroupName", unk), []want{adv("parameterGroupName unknown")}},
		{"parameter value", "rds-force-ssl", with(goodParameterGroup, "parameters.1.value", unk), []want{adv("parameters.1.value unknown")}},
		{"whole parameter list", "rds-force-ssl", with(goodParameterGroup, "parameters", unk), []want{adv("parameters unknown")}},
		{"auth token", "elasticache-auth-token", with(goodCache, "authToken", unk), []want{adv("authToken unknown")}},
		{"eks key arn", "eks-secrets-encryption", with(goodEKS, "encryptionConfigKeyArn", unk), []want{adv("encryptionConfigKeyArn unknown")}},
		{"eks encryptionConfig object", "eks-secrets-encryption", with(goodEKSCluster, "encryptionConfig", unk),
			[]want{adv("encryptionConfig.resources unknown"), adv("encryptionConfig.provider.keyArn unknown")}},
		{"eks public cidrs", "eks-endpoint-restricted", with(goodEKS, "publicAccessCidrs", list("203.0.113.0/24", unk)), []want{adv("publicAccessCidrs unknown")}},
		{"eks public cidrs with a known world", "eks-endpoint-restricted", with(goodEKS, "publicAccessCidrs", list(unk, "0.0.0.0/0")), []want{mand("open to 0.0.0.0/0")}},
		{"sg cidr", "sg-no-world-ingress", with(goodLBIngress, "cidrIpv4", unk), []want{adv("cidrIpv4 unknown")}},
		{"lb tag decides", "sg-no-world-ingress", with(goodLBIngress, "tags", map[string]any{PublicLoadBalancerTagKey: unk}), []want{adv("tags.network-role unknown")}},
		{"lb tag cannot save all protocols", "sg-no-world-ingress",
			with(with(goodLBIngress, "tags", map[string]any{PublicLoadBalancerTagKey: unk}), "ipProtocol", "-1"), []want{mand("all protocols")}},
		{"launch template mapping", "ebs-encrypted", with(goodLaunchTemplate, "blockDeviceMappings.0", unk), []want{adv("blockDeviceMappings.0 unknown")}},
		{"ebs encrypted flag", "ebs-encrypted", with(goodLaunchTemplate, "blockDeviceMappings.0.ebs.encrypted", unk), []want{adv("blockDeviceMappings.0.ebs.encrypted unknown")}},
		{"resource tags", "required-tags", with(goodDB, "tags", unk), []want{adv("cannot verify during preview: tags unknown")}},
		{"instance class", "instance-class-allowed", with(goodDB, "instanceClass", unk), []want{adv("instanceClass unknown")}},
		{"retention", "log-group-retention", with(goodLogGroup, "retentionInDays", unk), []want{adv("retentionInDays unknown")}},
		// A secret hides the value the same way: reported, never passed.
		{"secret cidr", "sg-no-world-ingress", with(goodLBIngress, "cidrIpv4", inventory.Secret), []want{adv("cannot verify: cidrIpv4 is a secret")}},
		{"secret cidr in a list", "eks-endpoint-restricted", with(goodEKS, "publicAccessCidrs", list(inventory.Secret)), []want{adv("cannot verify: publicAccessCidrs is a secret")}},
		{"secret instance class", "instance-class-allowed", with(goodDB, "instanceClass", inventory.Secret), []want{adv("cannot verify: instanceClass is a secret")}},
	}
	for _, c := range cases {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			assertViolations(t, run(c.rule, c.r, &awsProvider, Prod), c.want)
		})
	}
}

func TestEvaluateCompliantDevStack(t *testing.T) {
	vs, err := Evaluate(devStack(), settings(Dev))
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 0 {
		t.Fatalf("compliant dev stack has violations:\n%s", dump(vs))
	}
}

func TestRequiredTagsProviderView(t *testing.T) {
	db := goodDB // references the provider as "urn::id"
	t.Run("provider in the slice, reference stripped", func(t *testing.T) {
		vs, _ := Evaluate([]inventory.Resource{awsProvider, db}, settings(Dev))
		assertViolations(t, only(vs, "required-tags"), nil)
	})
	t.Run("no provider default tags", func(t *testing.T) {
		vs, _ := Evaluate([]inventory.Resource{with(awsProvider, "defaultTags", deleted), db}, settings(Dev))
		assertViolations(t, only(vs, "required-tags"), []want{mand("missing required tags cost-center, owner, environment")})
	})
	t.Run("default provider (not in the slice)", func(t *testing.T) {
		r := db
		r.Provider = ""
		vs, _ := Evaluate([]inventory.Resource{awsProvider, r}, settings(Dev))
		assertViolations(t, only(vs, "required-tags"), []want{mand("missing required tags")})
	})
	t.Run("own tags complete the defaults", func(t *testing.T) {
		p := with(awsProvider, "defaultTags.tags", map[string]any{"cost-center": "platform"})
		r := with(db, "tags", map[string]any{"owner": "dba", "environment": "dev"})
		vs, _ := Evaluate([]inventory.Resource{p, r}, settings(Dev))
		assertViolations(t, only(vs, "required-tags"), nil)
	})
	t.Run("engine's JSON-encoded provider config", func(t *testing.T) {
		p := with(awsProvider, "defaultTags", `{"tags":{"cost-center":"platform","owner":"team","environment":"dev"}}`)
		assertViolations(t, run("required-tags", db, &p, Dev), nil)
	})
	t.Run("unknown default tags", func(t *testing.T) {
		p := with(awsProvider, "defaultTags", unk)
		assertViolations(t, run("required-tags", db, &p, Dev), []want{adv("tags cost-center, owner, environment unknown")})
	})
}

func TestForceSSLAcrossResources(t *testing.T) {
	check := func(t *testing.T, rs []inventory.Resource, wants []want) {
		t.Helper()
		vs, err := Evaluate(rs, settings(Dev))
		if err != nil {
			t.Fatal(err)
		}
		assertViolations(t, only(vs, "rds-force-ssl"), wants)
	}
	t.Run("instance uses the stack's ssl group", func(t *testing.T) {
		check(t, []inventory.Resource{goodParameterGroup, goodDB}, nil)
	})
	t.Run("instance uses a group without force_ssl", func(t *testing.T) {
		pg := with(goodParameterGroup, "parameters", list())
		check(t, []inventory.Resource{pg, goodDB}, []want{
			mand(`uses parameter group "dev-pg16", which does not set rds.force_ssl = 1`),
			mand("postgres parameter group (family postgres16) does not set rds.force_ssl = 1"),
		})
	})
	t.Run("autonamed group as the mocks record it", func(t *testing.T) {
		pg := with(with(goodParameterGroup, "name", deleted), "parameters", list())
		db := with(goodDB, "parameterGroupName", "dev-pg-7f3a2c1")
		check(t, []inventory.Resource{pg, db}, []want{mand(`uses parameter group "dev-pg-7f3a2c1"`), mand("does not set rds.force_ssl = 1")})
	})
	t.Run("group outside the stack", func(t *testing.T) {
		check(t, []inventory.Resource{goodDB}, []want{adv(`parameter group "dev-pg16" is not managed in this stack`)})
	})
}

func only(vs []Violation, ruleID string) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.RuleID == ruleID {
			out = append(out, v)
		}
	}
	return out
}

func TestPlatformConfig(t *testing.T) {
	for _, env := range []string{"", "staging"} {
		s := settings(Dev)
		s.Environment = env
		vs, err := CheckStack(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		assertViolations(t, only(vs, "platform-config"), []want{mand(`platform:environment is "` + env + `"`)})
	}
}

func TestOverrides(t *testing.T) {
	r := with(goodDB, "multiAz", false)
	s := settings(Prod)
	s.Overrides = map[string]Enforcement{"rds-multi-az": Advisory, "rds-storage-encrypted": Disabled}
	vs := CheckResource(with(r, "storageEncrypted", false), &awsProvider, s)
	assertViolations(t, vs, []want{adv("multiAz is false")})
}

func TestProviderURN(t *testing.T) {
	for ref, want := range map[string]string{
		providerURN + "::0b1e2a66-provider-id": providerURN,
		providerURN:                            providerURN,
		"":                                     "",
		providerURN + "::04da6b54-80e4-46f7-96ec": providerURN,
	} {
		if got := ProviderURN(ref); got != want {
			t.Errorf("ProviderURN(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestParseSettings(t *testing.T) {
	s, err := ParseSettings(map[string]string{
		ConfigEnvironment:    "prod",
		ConfigMonthlyCeiling: "1200",
		ConfigUsage:          `{"natDataGbPerGateway": 100, "lbLcu": 5}`,
	}, at)
	if err != nil {
		t.Fatal(err)
	}
	if s.Environment != Prod || s.CeilingUSD != 1200 || s.Usage.NATDataGBPerGateway != 100 || s.Usage.LBLCUs != 5 || s.Usage.HoursPerMonth != 730 {
		t.Errorf("ParseSettings = %+v", s)
	}
	if s, err := ParseSettings(map[string]string{}, at); err != nil || s.CeilingUSD != 0 || s.Usage.HoursPerMonth != 730 {
		t.Errorf("empty config: %+v, %v", s, err)
	}
	for _, bad := range []map[string]string{
		{ConfigMonthlyCeiling: "lots"},
		{ConfigUsage: `{"natDataGb": 1}`},
	} {
		if _, err := ParseSettings(bad, at); err == nil {
			t.Errorf("ParseSettings(%v): no error", bad)
		}
	}
}

func TestRulesAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	valid := map[Enforcement]bool{Mandatory: true, Advisory: true, Disabled: true}
	for _, r := range All() {
		switch {
		case seen[r.ID]:
			t.Errorf("duplicate rule id %s", r.ID)
		case !regexp.MustCompile(`^[a-z0-9-]+$`).MatchString(r.ID) || r.Description == "":
			t.Errorf("rule %q: bad id or no description", r.ID)
		case !valid[r.Dev] || !valid[r.Prod]:
			t.Errorf("rule %s: levels %q/%q", r.ID, r.Dev, r.Prod)
		case r.Check == nil && r.CheckStack == nil:
			t.Errorf("rule %s checks nothing", r.ID)
		case r.Check != nil && len(r.Types) == 0:
			t.Errorf("rule %s: resource check without types", r.ID)
		case r.Prod != Mandatory:
			t.Errorf("rule %s: every rule is mandatory in prod", r.ID)
		}
		seen[r.ID] = true
	}
}

// The README's rule table is the documentation of record: every rule, with
// its levels, and nothing else.
func TestREADMEDocumentsEveryRule(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| ([a-z]+) \\| ([a-z]+) \\|")
	documented := map[string][2]string{}
	for _, m := range row.FindAllStringSubmatch(string(data), -1) {
		documented[m[1]] = [2]string{m[2], m[3]}
	}
	for _, r := range All() {
		got, ok := documented[r.ID]
		if !ok {
			t.Errorf("README lacks rule %s", r.ID)
			continue
		}
		if got != [2]string{string(r.Dev), string(r.Prod)} {
			t.Errorf("README gives %s dev/prod %v, code %s/%s", r.ID, got, r.Dev, r.Prod)
		}
		delete(documented, r.ID)
	}
	for id := range documented {
		t.Errorf("README documents unknown rule %s", id)
	}
}

// TestEngineViewOfEKSComponents: the real engine hands the pack the
// pulumi-eks components without inputs; the rules must then judge the
// aws:eks children (and not fail the empty component).
func TestEngineViewOfEKSComponents(t *testing.T) {
	s := Settings{Environment: Prod}
	empty := inventory.Resource{URN: "urn:pulumi:prod::platform::eks:index:Cluster::prod", Type: "eks:index:Cluster", Inputs: map[string]any{}}
	if vs := CheckResource(empty, nil, s); len(vs) != 0 {
		t.Errorf("input-less component: %v", vs)
	}
	child := inventory.Resource{URN: "urn:pulumi:prod::platform::eks:index:Cluster$aws:eks/cluster:Cluster::prod", Type: "aws:eks/cluster:Cluster",
		Inputs: map[string]any{"enabledClusterLogTypes": []any{"api", "audit", "authenticator"}}}
	var ids []string
	for _, v := range CheckResource(child, nil, s) {
		ids = append(ids, v.RuleID)
	}
	if !slices.Contains(ids, "eks-secrets-encryption") {
		t.Errorf("the child without encryption must fail eks-secrets-encryption: %v", ids)
	}
	// A component that does carry inputs (the mocks' view) is still checked.
	withInputs := empty
	withInputs.Inputs = map[string]any{"version": "1.35"}
	if len(CheckResource(withInputs, nil, s)) == 0 {
		t.Error("a component with inputs but no encryption must fail")
	}
}

// untaggable_gen.go must come from the pulumi-aws SDK that go.mod selects:
// bumping the SDK without `go generate ./policies/rules` fails here.
func TestUntaggableListIsFromGoModsSDK(t *testing.T) {
	raw, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	module, generated, _ := strings.Cut(untaggableFrom, " ")
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(module) + `\s+(v\S+)`).FindSubmatch(raw)
	if m == nil {
		t.Fatalf("go.mod does not require %s", module)
	}
	if required := string(m[1]); required != generated {
		t.Errorf("untaggable_gen.go was generated from %s %s, go.mod requires %s: run go generate ./policies/rules", module, generated, required)
	}
}
