package actiontrail

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/strictjson"
)

// event wraps data in an EventBridge envelope of type typ.
func event(typ, data string) []byte {
	return fmt.Appendf(nil, `{"id":"e-1","source":"acs.ecs","specversion":"1.0","type":%q,"aliyunregionid":"cn-beijing","data":%s}`, typ, data)
}

// TestDecodeLooseRecords feeds the variants a real record may show: gateway
// keys, numbers, flattened lists, parameters as a JSON string, missing and
// odd fields. None may fail the record.
func TestDecodeLooseRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		typ       string // default TypeAPICall
		data      string
		want      Record // Type and EventName are checked; the rest as given
		wantNotes []string
	}{
		{
			name: "minimal CreateImage",
			data: `{"eventName":"CreateImage","acsRegion":"cn-hangzhou","requestParameters":{"ImageName":"web-1","ImageFamily":"web"},"responseElements":{"ImageId":"m-1"}}`,
			want: Record{Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-hangzhou",
				Absent: []string{FieldEventID, FieldRequestID, FieldErrorCode}},
		},
		{
			name: "no responseElements at all",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":{"ImageName":"web-1"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", TargetRegion: "cn-hangzhou",
				Absent: []string{FieldImageFamily, FieldImageID}},
		},
		{
			name: "responseElements null, errorCode null",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":null,"requestParameters":{"ImageName":"web-1","ImageFamily":"web"},"responseElements":null}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", TargetRegion: "cn-hangzhou",
				Absent: []string{FieldErrorCode, FieldImageID}},
		},
		{
			name: "numbers where strings are expected",
			data: `{"eventName":"CreateImage","eventId":12345,"requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":{"ImageName":"web-1","ImageFamily":"web","Tag.1.Key":"x","Tag.1.Value":7,"DiskDeviceMapping.1.Size":40},"responseElements":{"ImageId":"m-1","RequestId":"b"}}`,
			want: Record{EventID: "12345", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-hangzhou"},
		},
		{
			name: "parameters only in requestParameterJson, a JSON string",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameterJson":"{\"ImageName\":\"web-1\",\"ImageFamily\":\"web\",\"Tag\":[{\"Key\":\"a\"}]}","responseElements":{"ImageId":"m-1"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-hangzhou"},
		},
		{
			name: "requestParameters wins over requestParameterJson; the string fills the gaps",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":{"ImageName":"web-1"},"requestParameterJson":"{\"ImageName\":\"other\",\"ImageFamily\":\"web\"}","responseElements":{"ImageId":"m-1"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-hangzhou"},
		},
		{
			name: "requestParameters and responseElements as JSON strings",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":" {\"ImageName\":\"web-1\",\"ImageFamily\":\"web\"} ","responseElements":"{\"ImageId\":\"m-1\"}"}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-hangzhou"},
		},
		{
			name: "a parameter string with a repeated key is still read",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameterJson":"{\"ImageName\":\"web-1\",\"ImageName\":\"web-1\",\"ImageFamily\":\"web\"}","responseElements":{"ImageId":"m-1"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-hangzhou"},
		},
		{
			name: "keys in another letter case",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":{"imageName":"web-1","imagefamily":"web"},"responseElements":{"imageId":"m-1"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-hangzhou"},
		},
		{
			name: "the exact key wins over another case",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":{"imagename":"wrong","ImageName":"web-1","IMAGENAME":"wrong"},"responseElements":{"ImageId":"m-1"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageID: "m-1", TargetRegion: "cn-hangzhou",
				Absent: []string{FieldImageFamily}},
		},
		{
			name: "odd kinds are noted and read as absent",
			data: `{"eventName":"CreateImage","eventId":{"id":"a"},"requestId":["b"],"acsRegion":"cn-hangzhou","errorCode":false,"requestParameters":{"ImageName":{"v":"web-1"},"ImageFamily":true},"requestParameterJson":"not json","responseElements":["m-1"]}`,
			want: Record{Region: "cn-hangzhou", TargetRegion: "cn-hangzhou",
				Absent: []string{FieldEventID, FieldRequestID, FieldErrorCode, FieldImageName, FieldImageFamily, FieldImageID}},
			wantNotes: []string{
				"data.eventId is an object, not a string: ignored",
				"data.requestId is an array, not a string: ignored",
				"data.errorCode is a boolean, not a string: ignored",
				"data.requestParameterJson is a string, not an object: ignored",
				"data.requestParameters.ImageName is an object, not a string: ignored",
				"data.requestParameters.ImageFamily is a boolean, not a string: ignored",
				"data.responseElements is an array, not an object: ignored",
			},
		},
		{
			name: "extra fields of every kind are ignored",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","referencedResources":{"ACS::ECS::Image":["m-1"]},"eventAttributes":{"SensitiveAction":false},"extend":null,"isGlobal":false,"unknown":[1,{"x":[]}],"requestParameters":{"ImageName":"web-1","ImageFamily":"web","DiskDeviceMapping":[{"Size":40}],"Features":{"ImdsSupport":"v2"}},"responseElements":{"ImageId":"m-1","Extra":{"a":1}}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-hangzhou"},
		},
		{
			name: "empty strings are absent",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":{"ImageName":"","ImageFamily":""},"responseElements":{"ImageId":""}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", TargetRegion: "cn-hangzhou",
				Absent: []string{FieldImageName, FieldImageFamily, FieldImageID}},
		},
		{
			name: "no acsRegion: the call's RegionId",
			data: `{"eventName":"CreateImage","eventId":"a","requestId":"b","errorCode":"","requestParameters":{"RegionId":"cn-shenzhen","ImageName":"web-1","ImageFamily":"web"},"responseElements":{"ImageId":"m-1"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-shenzhen", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-shenzhen",
				Absent: []string{FieldRegion}},
		},
		{
			name: "no region in the record: the event's aliyunregionid",
			data: `{"eventName":"ImportImage","eventId":"a","requestId":"b","errorCode":"","requestParameters":{"ImageName":"base-1"},"responseElements":{"ImageId":"m-1"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-beijing", ImageName: "base-1", ImageID: "m-1", TargetRegion: "cn-beijing",
				Absent: []string{FieldRegion, FieldImageFamily}},
		},
		{
			name: "CopyImage with its copy's id",
			data: `{"eventName":"CopyImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":{"RegionId":"cn-hangzhou","ImageId":"m-src","ImageName":"not-the-copy","DestinationRegionId":"ap-southeast-1","DestinationImageName":"web-1-sg"},"responseElements":{"ImageId":"m-copy","RequestId":"b"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1-sg", ImageID: "m-copy", TargetRegion: "ap-southeast-1",
				SourceImageID: "m-src", Absent: []string{FieldImageFamily}},
		},
		{
			name: "CopyImage without its destination: no target region is guessed",
			data: `{"eventName":"CopyImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":{"ImageId":"m-src"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", SourceImageID: "m-src",
				Absent: []string{FieldDestName, FieldTargetRegion, FieldImageFamily, FieldImageID}},
		},
		{
			name: "failed call",
			data: `{"eventName":"CopyImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"InvalidImageId.NotFound","errorMessage":"The specified ImageId does not exist.","requestParameters":{"ImageId":"m-src","DestinationRegionId":"cn-shanghai","DestinationImageName":"web-sh"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ErrorCode: "InvalidImageId.NotFound", ErrorMessage: "The specified ImageId does not exist.",
				ImageName: "web-sh", TargetRegion: "cn-shanghai", SourceImageID: "m-src", Absent: []string{FieldImageFamily, FieldImageID}},
		},
		{
			name: "console operation",
			typ:  TypeConsoleOperation,
			data: `{"eventName":"ImportImage","eventId":"a","requestId":"b","acsRegion":"cn-hangzhou","errorCode":"","requestParameters":{"ImageName":"base-1"},"responseElements":{"ImageId":"m-1"}}`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "base-1", ImageID: "m-1", TargetRegion: "cn-hangzhou",
				Absent: []string{FieldImageFamily}},
		},
		{
			name: "data as a JSON string",
			data: `"{\"eventName\":\"CreateImage\",\"eventId\":\"a\",\"requestId\":\"b\",\"acsRegion\":\"cn-hangzhou\",\"errorCode\":\"\",\"requestParameters\":{\"ImageName\":\"web-1\",\"ImageFamily\":\"web\"},\"responseElements\":{\"ImageId\":\"m-1\"}}"`,
			want: Record{EventID: "a", RequestID: "b", Region: "cn-hangzhou", ImageName: "web-1", ImageFamily: "web", ImageID: "m-1", TargetRegion: "cn-hangzhou"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			typ := tt.typ
			if typ == "" {
				typ = TypeAPICall
			}
			raw := event(typ, tt.data)
			if !IsActionTrail(raw) {
				t.Error("IsActionTrail = false")
			}
			got, err := Decode(raw)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			want := tt.want
			want.Type = typ
			want.EventName = got.EventName // checked below against the data
			if !strings.Contains(tt.data, want.EventName) || want.EventName == "" {
				t.Errorf("EventName = %q", got.EventName)
			}
			want.Notes = tt.wantNotes
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode =\n %+v\nwant\n %+v", got, want)
			}
		})
	}
}

func TestDecodeRefusals(t *testing.T) {
	t.Parallel()
	ok := `{"eventName":"CreateImage","requestParameters":{"ImageName":"web-1"}}`
	tests := []struct {
		name      string
		raw       string
		code      string
		field     string
		notOurs   bool
		wantName  string // the Record as far as it was read
		wantMsg   string
		isATEvent bool
	}{
		{name: "another ECS call", raw: string(event(TypeAPICall, `{"eventName":"DeleteDisk","acsRegion":"cn-hangzhou"}`)),
			code: CodeNotOurs, field: "data.eventName", notOurs: true, wantName: "DeleteDisk", isATEvent: true,
			wantMsg: `"DeleteDisk": only CreateImage, CopyImage and ImportImage records are read`},
		{name: "DeleteImage is not ours either", raw: string(event(TypeAPICall, `{"eventName":"DeleteImage"}`)),
			code: CodeNotOurs, field: "data.eventName", notOurs: true, wantName: "DeleteImage", isATEvent: true},
		{name: "event name in another case", raw: string(event(TypeAPICall, `{"eventName":"createimage"}`)),
			code: CodeNotOurs, field: "data.eventName", notOurs: true, wantName: "createimage", isATEvent: true},
		{name: "a platform event", raw: string(event("ecs:ActionTrail:AliyunServiceEvent", ok)),
			code: CodeNotOurs, field: "type", notOurs: true, isATEvent: true,
			wantMsg: `"ecs:ActionTrail:AliyunServiceEvent": only ecs:ActionTrail:ApiCall and ecs:ActionTrail:ConsoleOperation records are read`},
		{name: "another service's call", raw: string(event("actiontrail:ActionTrail:ApiCall", ok)),
			code: CodeNotOurs, field: "type", notOurs: true, isATEvent: true},
		{name: "not an ActionTrail type", raw: string(event("ecs:Snapshot:CreateSnapshotCompleted", ok)),
			code: CodeNotOurs, field: "type", notOurs: true, wantMsg: "is not an ActionTrail event type"},
		{name: "no type", raw: `{"source":"acs.ecs","data":` + ok + `}`, code: CodeNotOurs, field: "type", notOurs: true},
		{name: "type is a number", raw: `{"type":1,"data":` + ok + `}`, code: CodeNotOurs, field: "type", notOurs: true},
		{name: "an array", raw: `[` + string(event(TypeAPICall, ok)) + `]`, code: CodeNotOurs, notOurs: true},
		{name: "a string", raw: `"ecs:ActionTrail:ApiCall"`, code: CodeNotOurs, notOurs: true},
		{name: "no data", raw: `{"type":"ecs:ActionTrail:ApiCall"}`, code: CodeInvalidRecord, field: "data", isATEvent: true,
			wantMsg: "must be the ActionTrail record, an object; got absent"},
		{name: "data is an array", raw: string(event(TypeAPICall, `[]`)), code: CodeInvalidRecord, field: "data", isATEvent: true},
		{name: "data is a string that is not JSON", raw: string(event(TypeAPICall, `"CreateImage"`)), code: CodeInvalidRecord, field: "data", isATEvent: true},
		{name: "data string with a repeated name", raw: string(event(TypeAPICall, `"{\"eventName\":\"CreateImage\",\"eventName\":\"DeleteDisk\"}"`)),
			code: CodeInvalidRecord, field: "data", isATEvent: true, wantMsg: "not strict JSON"},
		{name: "no eventName", raw: string(event(TypeAPICall, `{"requestParameters":{"ImageName":"web-1"}}`)),
			code: CodeInvalidRecord, field: "data.eventName", isATEvent: true},
		{name: "eventName is an object", raw: string(event(TypeAPICall, `{"eventName":{"name":"CreateImage"}}`)),
			code: CodeInvalidRecord, field: "data.eventName", isATEvent: true},
		{name: "not JSON", raw: `{"type":"ecs:ActionTrail:ApiCall",`, code: strictjson.CodeMalformed},
		{name: "empty", raw: ``, code: strictjson.CodeMalformed},
		{name: "a repeated name in the envelope", raw: `{"type":"ecs:ActionTrail:ApiCall","type":"x","data":` + ok + `}`,
			code: strictjson.CodeDuplicateField, field: "type"},
		{name: "a repeated name deep in requestParameters", raw: string(event(TypeAPICall, `{"eventName":"CreateImage","requestParameters":{"ImageName":"a","ImageName":"b"}}`)),
			code: strictjson.CodeDuplicateField, field: "data.requestParameters.ImageName"},
		{name: "invalid UTF-8", raw: string(event(TypeAPICall, "{\"eventName\":\"CreateImage\",\"requestParameters\":{\"ImageName\":\"web-\xff\"}}")),
			code: strictjson.CodeInvalidUTF8, field: "data.requestParameters.ImageName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := IsActionTrail([]byte(tt.raw)); got != tt.isATEvent {
				t.Errorf("IsActionTrail = %v, want %v", got, tt.isATEvent)
			}
			r, err := Decode([]byte(tt.raw))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode = %+v, %v; want an *Error", r, err)
			}
			if e.Code != tt.code || e.Field != tt.field {
				t.Errorf("error %q: code %q field %q, want %q %q", e, e.Code, e.Field, tt.code, tt.field)
			}
			if errors.Is(err, ErrNotOurs) != tt.notOurs {
				t.Errorf("errors.Is(ErrNotOurs) = %v, want %v", !tt.notOurs, tt.notOurs)
			}
			if tt.wantMsg != "" && !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
			}
			if r.EventName != tt.wantName {
				t.Errorf("EventName = %q, want %q", r.EventName, tt.wantName)
			}
		})
	}
}

func TestDecodeClipsEchoedValues(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1<<20)
	_, err := Decode(event(TypeAPICall, `{"eventName":"`+long+`"}`))
	if err == nil || len(err.Error()) > 1024 {
		t.Errorf("error is %d bytes", len(err.Error()))
	}
	_, err = Decode(event("ecs:ActionTrail:"+long, `{}`))
	if err == nil || len(err.Error()) > 1024 {
		t.Errorf("error is %d bytes", len(err.Error()))
	}
}

func TestMissing(t *testing.T) {
	t.Parallel()
	r, err := Decode(readSample(t, "actiontrail-copyimage.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !r.Missing(FieldImageID) || r.Missing(FieldTargetRegion) || !slices.Contains(r.Absent, FieldImageFamily) {
		t.Errorf("Absent = %q", r.Absent)
	}
}

// FuzzDecode checks that no input panics, that Decode accepts only what
// IsActionTrail routes to it, and that a Record it returns is of one of the
// three calls.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"actiontrail-createimage.json", "actiontrail-copyimage.json", "actiontrail-importimage.json", "actiontrail-failed.json"} {
		f.Add(readSample(f, name))
	}
	f.Add(event(TypeAPICall, `"{\"eventName\":\"CopyImage\",\"requestParameterJson\":\"{}\"}"`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := Decode(raw)
		if err != nil {
			return
		}
		if !IsActionTrail(raw) {
			t.Errorf("Decode accepted what IsActionTrail refuses: %q", raw)
		}
		if r.EventName != CreateImage && r.EventName != CopyImage && r.EventName != ImportImage {
			t.Errorf("EventName = %q", r.EventName)
		}
		if r.Type != TypeAPICall && r.Type != TypeConsoleOperation {
			t.Errorf("Type = %q", r.Type)
		}
	})
}
