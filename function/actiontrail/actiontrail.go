// Package actiontrail reads the ActionTrail records that EventBridge delivers
// for the ECS calls that make a custom image: CreateImage, CopyImage and
// ImportImage. From a record it takes only what the function acts on: which
// call, whether it failed, the new image (its id when the record carries it,
// its name, its family) and the region it lives in.
//
// No real record of these calls has been captured, so the reading follows
// the documented fields and expects any of them to be missing or odd:
// requestParameters mixes the API's parameters with the gateway's own keys,
// keeps numbers as numbers or strings, flattens lists ("Tag.1.Key") and may
// come again as a JSON string in requestParameterJson; responseElements may
// be absent. Only the fields used are read, each tolerantly; nothing else in
// a record can make it fail. The text itself is read strictly, as every JSON
// this function takes (strictjson).
package actiontrail

import (
	"errors"
	"slices"
)

// The event types read: an ECS API call, and a console action that did not go
// through the API. The third ActionTrail type, AliyunServiceEvent, is the
// platform acting on its own, never a user making an image.
const (
	TypeAPICall          = "ecs:ActionTrail:ApiCall"
	TypeConsoleOperation = "ecs:ActionTrail:ConsoleOperation"
)

// The calls read.
const (
	CreateImage = "CreateImage"
	CopyImage   = "CopyImage"
	ImportImage = "ImportImage"
)

// Paths of the fields a Record reports as absent, as they stand in the event.
const (
	FieldEventID      = "data.eventId"
	FieldRequestID    = "data.requestId"
	FieldRegion       = "data.acsRegion"
	FieldErrorCode    = "data.errorCode"
	FieldImageID      = "data.responseElements.ImageId"
	FieldImageName    = "data.requestParameters.ImageName"
	FieldDestName     = "data.requestParameters.DestinationImageName"
	FieldImageFamily  = "data.requestParameters.ImageFamily"
	FieldTargetRegion = "data.requestParameters.DestinationRegionId"
	FieldSourceImage  = "data.requestParameters.ImageId"
)

// Record is what the function needs of one ActionTrail record.
type Record struct {
	// Type is the event's type (TypeAPICall or TypeConsoleOperation).
	Type string
	// EventName is the call: CreateImage, CopyImage or ImportImage.
	EventName string
	// EventID and RequestID identify the record and the call (for ids and logs).
	EventID, RequestID string
	// Region is where the call was made: data.acsRegion, else
	// requestParameters.RegionId, else the event's aliyunregionid. For
	// CopyImage it is the source image's region.
	Region string
	// ErrorCode and ErrorMessage are set when the call failed; a failed call
	// made no image.
	ErrorCode, ErrorMessage string
	// ImageID is the new image (for CopyImage, the copy) from
	// responseElements.ImageId; "" when the record does not carry it, and the
	// image must then be found by ImageName in TargetRegion.
	ImageID string
	// ImageName is the new image's name: requestParameters.ImageName, or
	// DestinationImageName for CopyImage.
	ImageName string
	// ImageFamily is requestParameters.ImageFamily. CopyImage and ImportImage
	// have no such parameter, so for them it is normally "".
	ImageFamily string
	// TargetRegion is where the new image lives: DestinationRegionId for
	// CopyImage ("" when the record lacks it: the copy cannot be found), the
	// call's Region otherwise.
	TargetRegion string
	// SourceImageID is, for CopyImage, the image copied (requestParameters.ImageId).
	SourceImageID string
	// Absent lists, as Field* paths, the fields the record did not carry (or
	// carried as something other than a string or a number). A fallback may
	// still have filled the value: Region, when acsRegion is absent.
	Absent []string
	// Notes says what was odd and ignored, for a log line: a
	// requestParameterJson that is not JSON, a value that is an object.
	Notes []string
}

// Failed reports whether the call failed (a non-empty errorCode): it made no
// image, and there is nothing to do.
func (r Record) Failed() bool { return r.ErrorCode != "" }

// Missing reports whether the record lacked the field at path (a Field* constant).
func (r Record) Missing(path string) bool { return slices.Contains(r.Absent, path) }

// Error codes. A record that is not one of the calls above is not wrong, only
// not this function's: its error also matches ErrNotOurs.
const (
	// CodeNotOurs: not an ECS CreateImage, CopyImage or ImportImage record.
	CodeNotOurs = "InvalidParameter.UnsupportedEvent"
	// CodeInvalidRecord: an ActionTrail event of ours that cannot be read
	// (data is not an object, eventName is missing).
	CodeInvalidRecord = "InvalidParameter.ActionTrail"
)

// ErrNotOurs matches (errors.Is) the error for a record that is not one of
// the calls this function acts on.
var ErrNotOurs = errors.New("not an ECS CreateImage, CopyImage or ImportImage record")

// Error is a record Decode cannot use. Code is CodeNotOurs, CodeInvalidRecord
// or a strictjson code (the text is not strict JSON); Field is the path of the
// value at fault, "" for the whole event.
type Error struct {
	Code, Field, Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Code + ": " + e.Message
	}
	return e.Code + ": " + e.Field + ": " + e.Message
}

// Is makes errors.Is(err, ErrNotOurs) true for CodeNotOurs.
func (e *Error) Is(target error) bool { return target == ErrNotOurs && e.Code == CodeNotOurs }
