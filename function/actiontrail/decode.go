package actiontrail

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/redact"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// envelope is the part of the CloudEvent read here. json v2 matches names
// exactly and ignores the others; values stay raw, so that an odd one fails
// only where it is used.
type envelope struct {
	Type     jsontext.Value `json:"type"`
	RegionID jsontext.Value `json:"aliyunregionid"`
	Data     jsontext.Value `json:"data"`
}

// record is the part of data (the ActionTrail record) read here.
type record struct {
	EventName            jsontext.Value `json:"eventName"`
	EventID              jsontext.Value `json:"eventId"`
	RequestID            jsontext.Value `json:"requestId"`
	AcsRegion            jsontext.Value `json:"acsRegion"`
	ErrorCode            jsontext.Value `json:"errorCode"`
	ErrorMessage         jsontext.Value `json:"errorMessage"`
	RequestParameters    jsontext.Value `json:"requestParameters"`
	RequestParameterJSON jsontext.Value `json:"requestParameterJson"`
	ResponseElements     jsontext.Value `json:"responseElements"`
}

// IsActionTrail reports whether raw, one event, is an ActionTrail event of
// any service: a JSON object whose type is "<service>:ActionTrail:<kind>".
// It reads only the top-level names, so that the trigger can route such an
// event to Decode (which says whether it is ours) rather than read its data
// as an intent. A text that is not strict JSON is not an ActionTrail event.
func IsActionTrail(raw []byte) bool {
	var env struct {
		Type jsontext.Value `json:"type"`
	}
	if json.Unmarshal(raw, &env) != nil {
		return false
	}
	typ, ok := loose(env.Type)
	return ok && IsType(typ)
}

// IsType reports whether typ, a CloudEvent type, is an ActionTrail event
// type of any service ("<service>:ActionTrail:<kind>"), for a caller that
// has read the type already.
func IsType(typ string) bool { return isActionTrailType(typ) }

// isActionTrailType: three non-empty parts, the middle one "ActionTrail".
func isActionTrailType(typ string) bool {
	parts := strings.Split(typ, ":")
	return len(parts) == 3 && parts[0] != "" && parts[1] == "ActionTrail" && parts[2] != ""
}

// Decode reads one EventBridge event carrying an ActionTrail record. For a
// CreateImage, CopyImage or ImportImage call of ECS (types TypeAPICall and
// TypeConsoleOperation) it returns the Record, failed call or not (see
// Failed). Any other event is an *Error matching ErrNotOurs, with the Record
// as far as it was read (Type, EventName), so that a report can say what it
// was. A text that is not strict JSON, or a record of ours whose data or
// eventName cannot be read, is an *Error of its own code.
func Decode(raw []byte) (Record, error) {
	var r Record
	if err := checkStrict(raw); err != nil {
		return r, err
	}
	env, err := r.readEnvelope(raw)
	if err != nil {
		return r, err
	}
	rec, err := r.readRecord(env.Data)
	if err != nil {
		return r, err
	}
	r.readCall(rec)
	r.readImage(rec, env.RegionID)
	return r, nil
}

// checkStrict refuses a text that is not strict JSON, with strictjson's code
// and the path of the first fault, before anything is read from it.
func checkStrict(raw []byte) error {
	err := strictjson.Check(raw)
	if err == nil {
		return nil
	}
	var se *strictjson.Error
	if errors.As(err, &se) {
		return &Error{Code: se.Code, Field: se.Path(), Message: se.Message}
	}
	return &Error{Code: strictjson.CodeMalformed, Message: redact.Clip(err.Error(), redact.TextLimit)}
}

// readEnvelope reads the CloudEvent around the record and sets r.Type. Only
// ActionTrail's API-call and console-operation types can carry a call of
// ours; any other event is not ours, said with ErrNotOurs.
func (r *Record) readEnvelope(raw []byte) (envelope, error) {
	var env envelope
	if jsontext.Value(raw).Kind() != '{' || json.Unmarshal(raw, &env) != nil {
		return env, &Error{Code: CodeNotOurs, Message: "an event is a JSON object; " + ErrNotOurs.Error()}
	}
	typ, _ := loose(env.Type)
	r.Type = typ
	switch {
	case typ == TypeAPICall || typ == TypeConsoleOperation:
		return env, nil
	case isActionTrailType(typ):
		return env, &Error{Code: CodeNotOurs, Field: "type", Message: fmt.Sprintf("%q: only %s and %s records are read (%s)",
			echo(typ), TypeAPICall, TypeConsoleOperation, ErrNotOurs)}
	default:
		return env, &Error{Code: CodeNotOurs, Field: "type", Message: fmt.Sprintf("%q is not an ActionTrail event type (%s)", echo(typ), ErrNotOurs)}
	}
}

// readRecord reads the ActionTrail record in data and sets r.EventName. A
// record without a readable eventName is invalid (which call it is of cannot
// be told); one of a call other than ours is not ours.
func (r *Record) readRecord(data jsontext.Value) (record, error) {
	var rec record
	obj, ok := object(data)
	if !ok {
		return rec, &Error{Code: CodeInvalidRecord, Field: "data", Message: fmt.Sprintf("must be the ActionTrail record, an object; got %s", valueKind(data))}
	}
	if json.Unmarshal(obj, &rec) != nil {
		// Only a data given as a string can get here: its inner text was
		// not read strictly with the event.
		return rec, &Error{Code: CodeInvalidRecord, Field: "data", Message: "the record inside data (a JSON string) is not strict JSON"}
	}
	name, ok := loose(rec.EventName)
	r.EventName = name
	switch {
	case !ok:
		return rec, &Error{Code: CodeInvalidRecord, Field: "data.eventName", Message: "is missing: which call the record is of cannot be told"}
	case name != CreateImage && name != CopyImage && name != ImportImage:
		return rec, &Error{Code: CodeNotOurs, Field: "data.eventName", Message: fmt.Sprintf("%q: only %s, %s and %s records are read (%s)",
			echo(name), CreateImage, CopyImage, ImportImage, ErrNotOurs)}
	}
	return rec, nil
}

// readCall reads what the record says about the call itself: its ids, region
// and outcome.
func (r *Record) readCall(rec record) {
	r.EventID = r.field(rec.EventID, FieldEventID)
	r.RequestID = r.field(rec.RequestID, FieldRequestID)
	r.Region = r.field(rec.AcsRegion, FieldRegion)
	// An empty errorCode is how a successful call is recorded (as is no
	// errorCode at all): absent only when not a string.
	if rec.ErrorCode.Kind() == '"' {
		r.ErrorCode, _ = loose(rec.ErrorCode)
	} else {
		r.ErrorCode = r.field(rec.ErrorCode, FieldErrorCode)
	}
	r.ErrorMessage, _ = loose(rec.ErrorMessage)
}

// readImage reads the image the call made, from the request parameters and
// the response. The region falls back to the request's RegionId, then to the
// event's own region, since a record may lack acsRegion; a CopyImage names
// its image and region as the copy's destination.
func (r *Record) readImage(rec record, eventRegion jsontext.Value) {
	params := r.parameters(rec.RequestParameters, rec.RequestParameterJSON)
	param := func(key, path string) string {
		v, _ := params.get(key)
		return r.field(v, path)
	}
	if r.Region == "" {
		v, _ := params.get("RegionId")
		r.Region, _ = loose(v)
	}
	if r.Region == "" {
		r.Region, _ = loose(eventRegion)
	}
	if r.EventName == CopyImage {
		r.ImageName = param("DestinationImageName", FieldDestName)
		r.TargetRegion = param("DestinationRegionId", FieldTargetRegion)
		r.SourceImageID = param("ImageId", FieldSourceImage)
	} else {
		r.ImageName = param("ImageName", FieldImageName)
		r.TargetRegion = r.Region
	}
	r.ImageFamily = param("ImageFamily", FieldImageFamily)

	resp, ok := r.members(rec.ResponseElements, "data.responseElements")
	if !ok {
		r.Absent = append(r.Absent, FieldImageID)
	} else {
		v, _ := resp.get("ImageId")
		r.ImageID = r.field(v, FieldImageID)
	}
}

// field reads v, at path, as loose text. When it is not given, path is
// listed in r.Absent, so that a consumer can tell "absent" from "empty";
// a value of the wrong kind is also noted, since it is ignored.
func (r *Record) field(v jsontext.Value, path string) string {
	s, ok := loose(v)
	if !ok {
		r.Absent = append(r.Absent, path)
		if k := v.Kind(); len(v) > 0 && k != 'n' && k != '"' {
			r.Notes = append(r.Notes, fmt.Sprintf("%s is %s, not a string: ignored", path, valueKind(v)))
		}
	}
	return s
}

// members is an object's members, keyed by name.
type members map[string]jsontext.Value

// get returns the member named key; when there is none, one whose name
// differs only in letter case (a gateway or the console may spell
// "imageName"). ok is false when neither exists.
func (m members) get(key string) (jsontext.Value, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// parameters merges requestParameters with requestParameterJson: each may
// be an object or a JSON string holding one; requestParameters wins where
// both name a key.
func (r *Record) parameters(params, paramJSON jsontext.Value) members {
	merged, _ := r.members(params, "data.requestParameters")
	extra, _ := r.members(paramJSON, "data.requestParameterJson")
	if merged == nil {
		merged = members{}
	}
	for k, v := range extra {
		if _, ok := merged.get(k); !ok {
			merged[k] = v
		}
	}
	return merged
}

// members reads v, an object or a JSON string holding one, tolerantly: what
// is neither is noted and read as no members. ok is false when v is absent,
// null or unreadable.
func (r *Record) members(v jsontext.Value, path string) (members, bool) {
	obj, ok := object(v)
	if !ok {
		if len(v) > 0 && v.Kind() != 'n' {
			r.Notes = append(r.Notes, fmt.Sprintf("%s is %s, not an object: ignored", path, valueKind(v)))
		}
		return nil, false
	}
	var m map[string]jsontext.Value
	if err := json.Unmarshal(obj, &m, jsontext.AllowDuplicateNames(true)); err != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("%s holds text that is not a JSON object: ignored", path))
		return nil, false
	}
	return m, true
}

// object returns v when it is an object, or the object a JSON string v
// holds (EventBridge and ActionTrail both carry objects as strings at times).
func object(v jsontext.Value) (jsontext.Value, bool) {
	if len(v) == 0 {
		return nil, false
	}
	switch v.Kind() {
	case '{':
		return v, true
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, false
		}
		inner := jsontext.Value(strings.TrimSpace(s))
		// Tolerant inside: a repeated key in a parameter string is the
		// producer's quirk, not a reason to lose the record.
		if inner.Kind() == '{' && inner.IsValid(jsontext.AllowDuplicateNames(true)) {
			return inner, true
		}
	}
	return nil, false
}

// loose reads a value the way the record's loose typing needs: a string as
// it is, a number as its literal text ("10", 10 and 1e1 stay distinct; the
// fields read are names and ids, never sums); anything else, and "", is not
// given.
func loose(v jsontext.Value) (string, bool) {
	if len(v) == 0 {
		return "", false
	}
	switch v.Kind() {
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil || s == "" {
			return "", false
		}
		return s, true
	case '0':
		return string(v), true
	}
	return "", false
}

// valueKind names the kind of a member's value, "absent" when there is none.
func valueKind(v jsontext.Value) string {
	if len(v) == 0 {
		return "absent"
	}
	return strictjson.KindName(v.Kind())
}

func echo(s string) string { return redact.Clip(s, redact.EchoLimit) }
