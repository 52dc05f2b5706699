// Package cost is the offline cost model of the platform program: it prices
// the resources a stack registers (inventory.Resource) from a price snapshot
// embedded in the binary (prices.json), with no network access.
//
// # Prices
//
// prices.json has one row per price with region, price, unit, source, as-of
// date and confidence (high/medium/low). Row keys:
//
//	eks.cluster, eks.extended-support        control plane hours; extended support is a surcharge on top ($0.10 + $0.50)
//	ec2.instance.<type>                      node instance hours (with vcpu)
//	ebs.<gp3|gp2>                            node volume GB-month
//	nat.hours, nat.data                      NAT gateway hours and GB processed
//	ipv4.public                              public IPv4 address-hours (in use or idle)
//	rds.instance.<engine>.<class>.<single-az|multi-az>   RDS instance hours (with vcpu)
//	rds.storage.<gp3|gp2>.<single-az|multi-az>           RDS storage GB-month
//	rds.backup, rds.performance-insights     backup GB-month beyond the free 100 %, PI long-term retention per vCPU-month
//	elasticache.node.redis.<nodeType>, elasticache.valkey-factor
//	alb.hours, alb.lcu, nlb.hours, nlb.lcu
//	logs.ingest, logs.storage, cloudwatch.dashboard, cloudwatch.alarm.standard, cloudwatch.alarm.high-resolution
//	kms.key, secretsmanager.secret, vpce.interface.hours (per AZ), vpce.interface.data
//	budgets.action-budget-day, ecr.storage
//	codebuild.linux.<small|medium|large>     CI runner build minutes (CodeBuild general1 compute)
//	ec2.cpu-credits.<t2|t3|t3a|t4g>, rds.cpu-credits   surplus CPU credits per vCPU-hour (burstable classes in unlimited mode)
//	ec2.cpu-baseline.<type>, rds.cpu-baseline.<class>  the baseline share of each vCPU of a burstable class (a ratio)
//
// Burstable classes (T family) in unlimited mode can bill surplus CPU
// credits on top of their hours: the ceiling case prices the worst case
// (every vCPU busy all month above the baseline), the expected case none.
// RDS runs them unlimited always; EC2 nodes only when their launch does not
// set standard credits (T3/T3a/T4g default to unlimited).
//
// eks_versions is the EKS support calendar: a cluster whose Kubernetes
// version is past its end of standard support at the evaluation date pays
// the extended-support surcharge.
//
// # Usage
//
// Usage-based parts come from the stack config key `platform:usage` (see
// Usage and ParseUsage); defaults: hoursPerMonth 730, natDataGbPerGateway 50,
// lbLcu 1, logIngestGb 5, logStoredGb 10, backupGbBeyondFree 0 (reported as
// an explicit assumption), ecrStorageGb 10, endpointDataGb 10,
// ciRunnerMinutes 900 (per CodeBuild runner project). Usage lines
// have UsageBased set, and every usage value used is in
// Estimate.Assumptions: nothing usage-based is silently $0.
//
// # Types
//
// PricedTypes lists the priced resource types, FreeTypes the free ones. Any
// other type is an error (UnknownTypeError); a priced type whose class, node
// type, engine or storage type has no row is a MissingPriceError. Resources
// created inside an eks:index component (remote component children) are
// priced on the component and listed as free.
//
// The model never calls AWS; internal/cost/pricelist rebuilds prices.json
// from the AWS Price List Query API.
package cost
