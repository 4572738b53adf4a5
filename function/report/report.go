// Package report defines what an invocation returns: one outcome per message,
// and counts that always add up to the number of messages received.
package report

// Outcome is how one message ended. Every message ends in exactly one.
type Outcome string

const (
	Applied      Outcome = "applied"       // changes were made
	Unchanged    Outcome = "unchanged"     // already converged
	Planned      Outcome = "planned"       // dry run
	Deferred     Outcome = "deferred"      // re-enqueued to RETRY_QUEUE with a delay
	DeadLettered Outcome = "dead-lettered" // sent to DEAD_LETTER_QUEUE
	Rejected     Outcome = "rejected"      // permanent failure, no DLQ configured
	Failed       Outcome = "failed"        // could not be settled: the invocation errors
)

// Outcomes lists every outcome in report order.
var Outcomes = []Outcome{Applied, Unchanged, Planned, Deferred, DeadLettered, Rejected, Failed}
