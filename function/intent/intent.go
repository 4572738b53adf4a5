// Package intent defines the public contract of the function: an image
// lifecycle intent (v1), how it is parsed strictly and how it is validated
// against the ModifyImageAttribute rules before any API call is made.
package intent

import (
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/actiontrail"
)

// Actions.
const (
	ActionModify    = "modify"
	ActionDeprecate = "deprecate"
	ActionActivate  = "activate"
	ActionPromote   = "promote"
	ActionRotate    = "rotate"
	// ActionRollback rolls a family back from one image. With imageId it is
	// level-based, "roll back FROM this image": the image ends Deprecated and
	// at least one Available image older than it stays in its family (the
	// newest Deprecated one older than it is re-activated first, and only
	// when none is Available), so a redelivered message changes nothing.
	// Without imageId the image is resolved when the message is planned as
	// the family's newest Available image; a duplicate delivery then rolls
	// back one image further. Only the imageId form is safe to redeliver, so
	// producers on at-least-once queues (MNS) should send it.
	ActionRollback = "rollback"
)

// DefaultKeep is how many newest Available images promote and rotate keep.
const DefaultKeep = 2

// Intent is one image lifecycle intent (v1). JSON is camelCase; unknown fields
// are rejected by Parse.
//
// ImageID is the image modify, deprecate, activate and promote act on. For
// rollback it is optional and names the image to roll back from; a rollback
// takes imageId, imageFamily or both, and with both the image must be in that
// family (the engine checks the image's real family before any write). Only
// a rollback with imageId is safe to redeliver: see ActionRollback.
type Intent struct {
	Action        string      `json:"action"`
	ID            string      `json:"id,omitempty"`
	RegionID      string      `json:"regionId,omitempty"`
	ImageID       string      `json:"imageId,omitempty"`
	ImageFamily   string      `json:"imageFamily,omitempty"`
	ImageFamilies []string    `json:"imageFamilies,omitempty"`
	Attributes    *Attributes `json:"attributes,omitempty"`
	// Keep is a pointer so that an explicit 0 can be told from "not given"
	// (see KeepOrDefault). rotate takes 0 to MaxKeep, 0 meaning "keep none",
	// which still leaves the family floor guard's images; promote takes 1 to
	// MaxKeep, since it keeps the image it promotes.
	Keep *int `json:"keep,omitempty"`
	// MinAge (rotate only): only images older than this are deprecated.
	MinAge Duration `json:"minAge,omitempty"`
	DryRun bool     `json:"dryRun,omitempty"`
	// Confirm approves, image by image, the deprecations of a plan that the
	// blast-radius limits refused (promote, rotate and rollback only).
	Confirm *Confirm `json:"confirm,omitempty"`
	// Retry is added by the function itself when it re-enqueues a deferred message.
	Retry *Retry `json:"retry,omitempty"`
	// Event is the ActionTrail record a promote was made from (FromEvent),
	// nil for an intent a producer sent. It is not part of the JSON
	// contract: no message can set it, so a promote that names its image by
	// name rather than by id comes only from the cloud's own record.
	Event *actiontrail.Record `json:"-"`
}

// MaxConfirm bounds confirm.deprecate: no plan deprecates more images than a
// family holds (MaxKeep).
const MaxConfirm = MaxKeep

// Confirm is a person's approval of a refused plan: the ids of the images it
// may deprecate beyond the blast-radius limits, as the refusal listed them.
// It names images, not a number, so a replay cannot approve images the
// person never saw (see policy.Check).
type Confirm struct {
	Deprecate []string `json:"deprecate"`
}

// Confirmed returns the ids the intent confirms, nil when it confirms none.
func (in Intent) Confirmed() []string {
	if in.Confirm == nil {
		return nil
	}
	return in.Confirm.Deprecate
}

// Attributes are the image attributes an intent can set.
type Attributes struct {
	ImageName   string    `json:"imageName,omitempty"`
	Description string    `json:"description,omitempty"`
	ImageFamily string    `json:"imageFamily,omitempty"`
	BootMode    string    `json:"bootMode,omitempty"`
	LicenseType string    `json:"licenseType,omitempty"`
	Status      string    `json:"status,omitempty"`
	Features    *Features `json:"features,omitempty"`
}

// Features are the image features an intent can set.
type Features struct {
	NvmeSupport string `json:"nvmeSupport,omitempty"`
	ImdsSupport string `json:"imdsSupport,omitempty"`
}

// Retry is carried by a deferred message so that the attempt count and the age
// of the original message survive the round trip through the retry queue.
type Retry struct {
	Attempt   int       `json:"attempt"`
	FirstSeen time.Time `json:"firstSeen"`
	LastError string    `json:"lastError,omitempty"`
	MessageID string    `json:"messageId,omitempty"`
}

// Duration is a time.Duration that reads a Go duration ("168h") or whole days
// ("7d", or a bare JSON number of days) and writes a Go duration string.
type Duration time.Duration

// KeepOrDefault returns keep, or DefaultKeep when the intent does not say.
func (in Intent) KeepOrDefault() int {
	if in.Keep == nil {
		return DefaultKeep
	}
	return *in.Keep
}

// Families returns the families a rotate or rollback names: imageFamily,
// then imageFamilies (names or patterns, see path.Match). A valid intent has
// one or the other; an invalid one may have both, and a report still shows
// them all. It is nil for a rollback named by imageId alone, whose family is
// the image's own (known only once the image is read), and for a rotate
// that names none, which rotates every family the policy covers.
func (in Intent) Families() []string {
	if in.ImageFamily == "" {
		return in.ImageFamilies
	}
	return append([]string{in.ImageFamily}, in.ImageFamilies...)
}

// Empty reports whether the attributes set nothing: an empty string means
// "not given", as in the API, where an omitted parameter keeps its value.
func (a *Attributes) Empty() bool {
	if a == nil {
		return true
	}
	return a.ImageName == "" && a.Description == "" && a.ImageFamily == "" && a.BootMode == "" &&
		a.LicenseType == "" && a.Status == "" && a.Features.Empty()
}

// Empty reports whether the features set nothing.
func (f *Features) Empty() bool {
	return f == nil || (f.NvmeSupport == "" && f.ImdsSupport == "")
}
