package lifecycle

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/intent"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
)

// codeNotListed is what a promote from an event waits on when its image is
// not listed under its name yet (a copy ECS has not started): ECS's own code
// for an image that is not there, since that is what DescribeImages says.
const codeNotListed = codeNotFound

// planEvent plans the promote an ActionTrail record of CreateImage, CopyImage
// or ImportImage stands for (intent.FromEvent): the new image joins its
// family with the attributes and keep of the family's policy rule, exactly
// as a promote intent would. Three records change nothing, with the reason
// in the plan and no ECS call: a failed call (it made no image), an image
// whose family neither the record (requestParameters.ImageFamily) nor a
// names[] rule of the policy gives, and a family no families[] rule covers
// (the policy is what says how an image of it is kept; without one, the
// pipeline's own intents do).
//
// The image is the record's responseElements.ImageId, else the image of
// exactly that name in the region it lives in (for a copy, the destination).
// A name not listed yet (a copy still queued) is NotYet, and so is an image
// still Creating past the budget, as for any promote: the event is deferred.
func (e *Engine) planEvent(ctx context.Context, in intent.Intent) (*Plan, error) {
	rec := in.Event
	p := &Plan{Action: intent.ActionPromote, RegionID: e.region(in), ImageID: in.ImageID, DryRun: in.DryRun, Event: eventName(rec)}
	family, how, why := e.eventFamily(*rec)
	if why != "" {
		p.Reason = why
		return p, nil
	}
	if err := e.Guards.checkRegion(p.RegionID); err != nil {
		return nil, err
	}
	p.note(how)
	if p.ImageID == "" {
		img, err := e.findByName(ctx, p.RegionID, rec.ImageName)
		if err != nil {
			return nil, err
		}
		p.ImageID = img.ImageID
		p.note(fmt.Sprintf("image %s found by its exact name %q in %s (the record carries no ImageId)", img.ImageID, rec.ImageName, p.RegionID))
	}
	promote := in
	promote.ImageID = p.ImageID
	promote.Attributes = &intent.Attributes{ImageFamily: family}
	if err := e.planPromote(ctx, p, promote); err != nil {
		return nil, notListedYet(err, p)
	}
	return p, nil
}

// notListedYet turns "no such image" into NotYet for an event: the call
// that made the image succeeded, so an image the listing does not show yet
// (an import or a copy still Waiting, which the engine does not list) is
// worth another look later; MAX_ATTEMPTS and MAX_MESSAGE_AGE bound how long.
func notListedYet(err error, p *Plan) error {
	var r *Refusal
	if !errors.As(err, &r) || r.Code != codeNotFound {
		return err
	}
	return &NotYet{Code: codeNotListed, Reason: fmt.Sprintf(
		"image %s is not listed in %s yet (Available, Deprecated or Creating): an import or a copy is listed once ECS starts it", p.ImageID, p.RegionID)}
}

// eventFamily is the family the record's image joins and how it was found,
// or why the record changes nothing.
func (e *Engine) eventFamily(rec actiontrail.Record) (family, how, why string) {
	if rec.Failed() {
		msg := ""
		if rec.ErrorMessage != "" {
			msg = ": " + redact.Clip(rec.ErrorMessage, redact.EchoLimit)
		}
		return "", "", fmt.Sprintf("the %s call failed (%s%s): it made no image", rec.EventName, redact.Clip(rec.ErrorCode, redact.EchoLimit), msg)
	}
	family, how = rec.ImageFamily, fmt.Sprintf("family %s from the record (requestParameters.ImageFamily)", rec.ImageFamily)
	if family == "" {
		family, how = e.familyByName(rec.ImageName)
	}
	switch {
	case family == "" && e.Policy == nil:
		return "", "", fmt.Sprintf("image %q has no family and no lifecycle policy is configured (%s) to give it one", rec.ImageName, policy.EnvFile)
	case family == "":
		return "", "", fmt.Sprintf("image %q has no family, and no names[] rule of the policy matches its name", rec.ImageName)
	}
	if _, ok := e.rule(family); !ok {
		return "", "", fmt.Sprintf("no families[] rule of the lifecycle policy covers family %s: its images are promoted by intents only", family)
	}
	return family, how, ""
}

// familyByName is the family the policy's names[] give an image called name.
func (e *Engine) familyByName(name string) (family, how string) {
	r, ok := e.Policy.NameRuleFor(name)
	if !ok {
		return "", ""
	}
	return r.Family, fmt.Sprintf("family %s from policy names[%d] (%s matches %s)", r.Family, r.Index, r.Match, name)
}

// findByName finds the one own image called name in region. DescribeImages'
// ImageName filter matches loosely ("web-1" also finds "web-10"), so the
// names are compared exactly here; an image name is unique in a region.
func (e *Engine) findByName(ctx context.Context, region, name string) (ecsapi.Image, error) {
	imgs, err := e.read().pages(ctx, ecsapi.DescribeImagesInput{RegionID: region, ImageName: name})
	if err != nil {
		return ecsapi.Image{}, err
	}
	var found []ecsapi.Image
	for _, img := range imgs {
		if img.Name == name {
			found = append(found, img)
		}
	}
	switch len(found) {
	case 0:
		return ecsapi.Image{}, &NotYet{Code: codeNotListed, Reason: fmt.Sprintf(
			"no own image is named %q in %s yet (Available, Deprecated or Creating): a copy or an import is listed once ECS starts it", name, region)}
	case 1:
	default:
		return ecsapi.Image{}, refuse(codeInvalid, "%d images are named %q in %s: which one the record made cannot be told", len(found), name, region)
	}
	if e.Cache != nil {
		e.Cache.setImages(region, []string{found[0].ImageID}, found[:1])
	}
	return found[0], nil
}

// resolvedEvent is the event's intent with the image its plan found, so
// that planning it again (the settle pass) does not look the name up again.
func resolvedEvent(in intent.Intent, p *Plan) intent.Intent {
	if in.Event != nil && in.ImageID == "" && p != nil {
		in.ImageID = p.ImageID
	}
	return in
}

// eventName names the record in a plan's heading: "CreateImage <eventId>".
func eventName(rec *actiontrail.Record) string {
	if rec.EventID == "" {
		return rec.EventName
	}
	return rec.EventName + " " + redact.Clip(rec.EventID, redact.EchoLimit)
}
