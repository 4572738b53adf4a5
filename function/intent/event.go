package intent

import (
	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
)

// FromEvent is the intent an ActionTrail record of CreateImage, CopyImage or
// ImportImage stands for: a promote of the image the call made, in the region
// it lives in (for a copy, the destination). The record is kept in
// Intent.Event: the engine decides the rest with the policy (the family, its
// attributes and keep, or why the record is left alone), and finds the image
// by its exact name when the record does not carry its id.
//
// body is the event as received. Of it, FromEvent reads only the members
// the function itself adds or asks a person to add at its top level: the
// retry object of a deferred event, and confirm, which approves a plan the
// blast radius refused, as for any message. They are read as strictly as in
// an intent.
//
// A failed call (Failed) made no image: its values are not checked, since
// nothing will be done with them. Otherwise the values the engine will send
// to the API are checked here, under the record's own paths, with the
// intent's codes.
func FromEvent(rec actiontrail.Record, body []byte) (Intent, error) {
	in := Intent{Action: ActionPromote, RegionID: rec.TargetRegion, ImageID: rec.ImageID, Event: &rec}
	errs, ok := readTopMembers(body, &in)
	if !ok {
		return in, errs
	}
	if !rec.Failed() {
		checkEvent(rec, &errs)
	}
	checkConfirm(in, &errs)
	checkRetry(in, &errs)
	return in, errs.err()
}

// readTopMembers reads confirm and retry from the top level of body, an
// object, and steps over every other member, and returns the problems it
// found; ok is false when the text itself was refused.
func readTopMembers(body []byte, in *Intent) (errs Errors, ok bool) {
	r := newReader(body)
	defer r.Release()
	ok = r.readTopMembers(in)
	return r.errs, ok
}

func (r *reader) readTopMembers(in *Intent) bool {
	tok, err := r.ReadToken()
	if err != nil {
		return r.errs.refused(err, "an event is a JSON object")
	}
	if tok.Kind() != '{' {
		return true // actiontrail.Decode read it as an object: nothing here
	}
	fields := decodeTables().event.fields
	for r.PeekKind() != '}' {
		tok, err := r.ReadToken()
		if err != nil {
			return r.errs.refused(err, "")
		}
		if i := lookup(fields, tok.String()); i >= 0 {
			if !fields[i].decode(in, r, fields[i].path) {
				return false
			}
			continue
		}
		if _, err := r.ReadValue(); err != nil {
			return r.errs.refused(err, "")
		}
	}
	return true
}

// checkEvent checks what the engine takes from a record of a call that
// succeeded: where the image is, and how to find it.
func checkEvent(rec actiontrail.Record, errs *Errors) {
	regionField := actiontrail.FieldRegion
	if rec.EventName == actiontrail.CopyImage {
		regionField = actiontrail.FieldTargetRegion
	}
	switch {
	case rec.TargetRegion == "" && rec.EventName == actiontrail.CopyImage:
		errs.add(CodeMissingParameter, regionField, "a CopyImage record without the destination region: the copy cannot be found")
	case rec.TargetRegion != "" && !regionIDPattern.MatchString(rec.TargetRegion):
		errs.add(CodeInvalidRegionID, regionField, "%q is not a region id such as cn-hangzhou", echo(rec.TargetRegion))
	}
	switch {
	case rec.ImageID != "" && !validImageID(rec.ImageID):
		errs.add(CodeInvalidImageID, actiontrail.FieldImageID, "%q is not an image id: \"m-\" followed by letters and digits", echo(rec.ImageID))
	case rec.ImageID == "" && rec.ImageName == "":
		errs.add(CodeMissingParameter, actiontrail.FieldImageID,
			"the record carries neither the new image's id nor its name (%s): the image cannot be found", nameField(rec))
	}
	if rec.ImageFamily != "" {
		if e := ValidateName("imageFamily", rec.ImageFamily); e != nil {
			e.Field = actiontrail.FieldImageFamily
			errs.addErr(e)
		}
	}
}

// nameField is where a record of the call names its new image.
func nameField(rec actiontrail.Record) string {
	if rec.EventName == actiontrail.CopyImage {
		return actiontrail.FieldDestName
	}
	return actiontrail.FieldImageName
}
