// Package verdict is the outcome of a review and the process exit code that
// carries it. It is on the ground floor so that the cost model, the policy
// verdict of the review and the PR cost comment share one type without
// importing each other.
package verdict

// Verdict judges a stack: its cost against the ceiling, or its guardrails.
// The strings are part of the review's JSON contract.
type Verdict string

const (
	OK   Verdict = "OK"
	Warn Verdict = "WARN" // cost >= 90 % of the ceiling, or an advisory finding
	Deny Verdict = "DENY" // over the ceiling, or a mandatory guardrail broken
)

// Exit codes of the offline tools (`review`, `review diff`, `prices`).
const (
	ExitOK    = 0 // every stack OK or WARN
	ExitDeny  = 1 // a stack is DENY
	ExitError = 2 // bad arguments, config or input; unknown stack; unpriced resource
)
