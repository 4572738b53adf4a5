package invoke

import (
	"errors"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/trigger"
)

// parseEvent reads a message whose body is an ActionTrail event as the
// promote it stands for (intent.FromEvent); the engine decides the rest with
// the policy. An ActionTrail record of another call or service is not wrong,
// only not this function's: it is left alone, with the reason, rather than
// dead-lettered for a person to look at.
func parseEvent(msg trigger.Message) parsedMessage {
	rec, err := actiontrail.Decode(msg.Body)
	var ae *actiontrail.Error
	switch {
	case errors.Is(err, actiontrail.ErrNotOurs) && errors.As(err, &ae):
		return parsedMessage{skip: "not acted on: " + ae.Message}
	case errors.As(err, &ae):
		return parsedMessage{err: err, code: ae.Code}
	case err != nil:
		return parsedMessage{err: err, code: actiontrail.CodeInvalidRecord}
	}
	in, err := intent.FromEvent(rec, msg.Body)
	if err != nil {
		return parsedMessage{in: in, err: err, code: intentCode(err)}
	}
	in.ID = msg.ID
	return parsedMessage{in: in}
}

// describePlanned completes what the report says of an event's promote with
// what its plan found: the image (found by its name) and its family.
func describePlanned(m *report.Message, in intent.Intent, p *lifecycle.Plan) {
	if in.Event == nil || p == nil {
		return
	}
	m.RegionID, m.ImageID, m.Families = p.RegionID, p.ImageID, p.Families
}
