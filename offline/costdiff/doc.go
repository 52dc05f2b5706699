// Package costdiff renders the pull-request cost comment from two sets of
// offline review documents (`go run . review --stack NAME --json`): one per
// stack from the base branch and one from the pull request's head.
//
// The comment has one summary table (a row per stack: base total, head
// total, delta, ceiling, cost and policy verdicts), then a section per stack
// with the biggest per-resource changes (added, removed, changed) and the
// policy findings that are new, still there or resolved. Its first line is
// the hidden Marker, so the pipeline finds and updates one comment in place.
//
// The review JSON is a contract owned by offline/review (Report); this
// package mirrors the fields it reads instead of importing offline/review
// (the program, the cost model, the guardrails); a test decodes the live
// golden reviews (tests/testdata) so the mirror cannot drift from what the
// review writes. It imports components for one list: the node group's
// replace-only inputs, which the program keys the group's name with.
//
// Each stack also shows what the change does to the resources that hold
// data or carry traffic (Replacements): the database, the cache, the
// cluster, the node group, NAT gateways, subnets, the load balancer and KMS
// keys, judged from their inputs in both reviews against the inputs the
// provider treats as replace-only (ReplaceRules, each entry citing the
// terraform-provider-aws schema it comes from). A replaced resource gets a
// new id, so what carries that id in a replace-only input is replaced too.
//
// A head stack fails the check when its cost verdict or its policy verdict
// is DENY: the estimate (node groups at max size) is above the ceiling, or a
// mandatory guardrail is violated; and in prod when the database, the cache
// or the cluster is replaced, may be replaced or is deleted, unless the
// pull request carries the allow-replace label (Options.AllowReplace). A
// stack with no base document is a new stack; a base document with no head
// is reported as removed.
package costdiff
