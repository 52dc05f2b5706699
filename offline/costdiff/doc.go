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
// package mirrors the fields it reads instead of importing offline/review,
// which would link the whole Pulumi program into the comment tool; a test
// decodes the live golden reviews (tests/testdata) so the mirror cannot
// drift from what the review writes.
//
// A head stack fails the check when its cost verdict or its policy verdict
// is DENY: the estimate (node groups at max size) is above the ceiling, or a
// mandatory guardrail is violated. A stack with no base document is a new
// stack; a base document with no head is reported as removed.
package costdiff
