// Package report defines what an invocation returns: one outcome per message,
// and counts that always add up to the number of messages received.
package report

import (
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
)

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

// Report is what an invocation returns (as JSON) and logs: one entry per
// message, and counts where Received always equals the sum of Counts.
type Report struct {
	RequestID string          `json:"requestId,omitempty"`
	Received  int             `json:"received"`
	Counts    map[Outcome]int `json:"counts"`
	Messages  []Message       `json:"messages"`
}

// Message is how one message ended and why.
type Message struct {
	ID string `json:"id"`
	// IntentID is the intent's own id (the correlation id a pipeline sets),
	// when it has one; ID is the trigger's message id.
	IntentID string   `json:"intentId,omitempty"`
	Source   string   `json:"source,omitempty"`
	Attempt  int      `json:"attempt,omitempty"`
	Action   string   `json:"action,omitempty"`
	RegionID string   `json:"regionId,omitempty"`
	ImageID  string   `json:"imageId,omitempty"`
	Families []string `json:"families,omitempty"`
	Outcome  Outcome  `json:"outcome"`
	// Code is the API's (or the intent validator's) error code, when there was one.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// Reason says why a message changed nothing when there is no plan to say
	// it: an ActionTrail event of a call this function does not act on.
	Reason string `json:"reason,omitempty"`
	// Plan lists every image considered, what changed (or would) and why.
	Plan *lifecycle.Plan `json:"plan,omitempty"`
	// Confirm is set when the blast radius refused the plan: what to add to
	// the message, as it is, to approve exactly that plan.
	Confirm *intent.Confirm `json:"confirm,omitempty"`
	// RequestIDs are those of the ModifyImageAttribute calls that made changes.
	RequestIDs []string `json:"requestIds,omitempty"`
	// Held are the planned changes that were not made because a fresh read
	// showed another run had changed the family (also in the plan's steps).
	Held []lifecycle.HeldStep `json:"held,omitempty"`
	// DeferredTo and RetryDelay are set for a deferred message: the new MNS
	// message id and when it comes back.
	DeferredTo string `json:"deferredMessageId,omitempty"`
	RetryDelay string `json:"retryDelay,omitempty"`
	// DeadLetterID is the DLQ message id of a dead-lettered message.
	DeadLetterID string `json:"deadLetterMessageId,omitempty"`
}

// New returns an empty report with every outcome counted as zero, so a reader
// never has to tell a missing key from a zero.
func New(requestID string) *Report {
	r := &Report{RequestID: requestID, Counts: make(map[Outcome]int, len(Outcomes)), Messages: []Message{}}
	for _, o := range Outcomes {
		r.Counts[o] = 0
	}
	return r
}

// Add records one message's outcome.
func (r *Report) Add(m Message) {
	r.Received++
	r.Counts[m.Outcome]++
	r.Messages = append(r.Messages, m)
}

// Failed reports how many messages could not be settled; when it is not zero
// the invocation must fail so that the platform delivers the batch again.
func (r *Report) Failed() int { return r.Counts[Failed] }
