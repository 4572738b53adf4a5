package lifecycle

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Field names, spelt as in the intent.
const (
	FieldImageName   = "imageName"
	FieldDescription = "description"
	FieldImageFamily = "imageFamily"
	FieldBootMode    = "bootMode"
	FieldLicenseType = "licenseType"
	FieldStatus      = "status"
	FieldNvmeSupport = "features.nvmeSupport"
	FieldImdsSupport = "features.imdsSupport"

	// fieldCount is how many attributes a change can set.
	fieldCount = 8
)

// FieldChange is one attribute going from one value to another.
type FieldChange struct {
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// Step is what the plan does to one image. Steps are in execution order.
type Step struct {
	ImageID      string    `json:"imageId"`
	ImageName    string    `json:"imageName,omitempty"`
	Family       string    `json:"imageFamily,omitempty"`
	Status       string    `json:"status"`
	CreationTime time.Time `json:"creationTime"`
	// Changes are sent in one ModifyImageAttribute; empty = nothing to do.
	Changes []FieldChange `json:"changes,omitempty"`
	// Unshare lists the accounts to unshare before deprecating (UnshareBeforeDeprecate).
	Unshare []string `json:"unshare,omitempty"`
	// Reason says why the image changes, or why it does not.
	Reason string `json:"reason"`
	// Skipped is set when a guard stopped a change (a reason, not an error).
	Skipped bool `json:"skipped,omitempty"`
	// Held are planned changes Apply did not make because a fresh read showed
	// another run had changed the family since the plan (HeldReason says how).
	// They are moved out of Changes, so that Changes lists only what was sent.
	Held       []FieldChange `json:"held,omitempty"`
	HeldReason string        `json:"heldReason,omitempty"`

	// check is what Apply re-verifies against a fresh read of the family
	// before it deprecates this image.
	check deprecationCheck
	// unshared: the read the step was planned on said the image is shared
	// with no other account and is not public (guardShared reads nothing).
	unshared bool
}

// deprecationCheck is re-verified by Apply just before a deprecation, on a
// fresh read of the family, so that overlapping runs cannot take a family
// below its floor.
type deprecationCheck struct {
	// newer is how many Available images newer than this one must exist.
	// Requiring them (rather than only counting the family) is what makes
	// concurrent runs safe: the newest image any run deprecates always
	// had that many newer Available images that nobody deprecates.
	newer int
	// others is how many other Available images the family must keep.
	others int
	// requireAvailable names an image that must be Available first: the
	// promoted image, or the image a rollback without imageId goes back to.
	requireAvailable string
	// older is how many Available images older than this one must exist
	// (rollback: the family rolls back to one of them).
	older int
}

func (s Step) deprecates() bool {
	for _, c := range s.Changes {
		if c.Field == FieldStatus && c.To == "Deprecated" {
			return true
		}
	}
	return false
}

// movesOut reports whether the step moves the image to another family.
func (s Step) movesOut() bool {
	return s.Family != "" && slices.ContainsFunc(s.Changes, func(c FieldChange) bool {
		return c.Field == FieldImageFamily && c.From == s.Family && c.To != s.Family
	})
}

// leavesFamily reports whether the step can take an Available image out of
// its family (a deprecation or a move), which the floor guard must allow.
func (s Step) leavesFamily() bool {
	return s.Family != "" && (s.deprecates() || s.movesOut())
}

// withoutLeaving drops the changes that take an image out of family: the
// deprecation and the move to another family.
func withoutLeaving(changes []FieldChange, family string) []FieldChange {
	return slices.DeleteFunc(slices.Clone(changes), func(c FieldChange) bool {
		return isDeprecation(c) || (c.Field == FieldImageFamily && c.From == family)
	})
}

// Plan is the full difference between the images as they are and as the
// intent wants them, computed from reads only.
type Plan struct {
	Action   string `json:"action"`
	RegionID string `json:"regionId"`
	ImageID  string `json:"imageId,omitempty"`
	// Event names the ActionTrail record the promote was made from
	// ("CreateImage <eventId>"); "" for an intent a producer sent.
	Event    string   `json:"event,omitempty"`
	Families []string `json:"families,omitempty"`
	Steps    []Step   `json:"steps"`
	// Reason says why there is nothing to plan at all (an event of a failed
	// call, of a family no policy covers), when no step can say it.
	Reason string `json:"reason,omitempty"`
	// Notes say what the policy decided for the plan: where an event's
	// family came from, the rule that set keep and the attributes, the
	// blast-radius check.
	Notes  []string `json:"notes,omitempty"`
	DryRun bool     `json:"dryRun,omitempty"`
}

// note adds a note to the plan; "" adds nothing.
func (p *Plan) note(n string) {
	if n != "" {
		p.Notes = append(p.Notes, n)
	}
}

// HasChanges reports whether applying the plan would send any write.
func (p *Plan) HasChanges() bool {
	if p == nil {
		return false
	}
	for _, s := range p.Steps {
		if len(s.Changes) > 0 {
			return true
		}
	}
	return false
}

// Table renders the plan as an aligned text table: one row per change, one
// per change held back (TO reads "held"), and one for each image left as it
// is, each with its reason.
func (p *Plan) Table() string {
	var b strings.Builder
	if p == nil {
		return ""
	}
	fmt.Fprintf(&b, "action %s", p.Action)
	if p.Event != "" {
		fmt.Fprintf(&b, " (ActionTrail %s)", p.Event)
	}
	fmt.Fprintf(&b, ", region %s", p.RegionID)
	if p.ImageID != "" {
		fmt.Fprintf(&b, ", image %s", p.ImageID)
	}
	if len(p.Families) > 0 {
		fmt.Fprintf(&b, ", families %s", strings.Join(p.Families, ","))
	}
	if p.DryRun {
		b.WriteString(" (dry run)")
	}
	b.WriteString("\n")
	if p.Reason != "" {
		b.WriteString("nothing to do: " + p.Reason + "\n")
	}
	p.writeSteps(&b)
	for _, n := range p.Notes {
		b.WriteString("note: " + n + "\n")
	}
	return b.String()
}

// writeSteps writes the steps as an aligned table, when there are any.
func (p *Plan) writeSteps(b *strings.Builder) {
	if len(p.Steps) == 0 && p.Reason != "" {
		return
	}
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tFAMILY\tCREATED\tFIELD\tFROM\tTO\tREASON")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, s := range p.Steps {
		created := "-"
		if !s.CreationTime.IsZero() {
			created = s.CreationTime.UTC().Format(time.RFC3339)
		}
		reason := s.Reason
		if len(s.Unshare) > 0 {
			reason += " (unshare " + countAccounts(len(s.Unshare)) + " first)"
		}
		if len(s.Changes) == 0 && len(s.Held) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t%s\t-\t%s\n", s.ImageID, dash(s.Family), created, dash(s.Status), reason)
			continue
		}
		for _, c := range s.Changes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ImageID, dash(s.Family), created, c.Field, dash(c.From), c.To, reason)
		}
		// A held change shows no new value: it was not made.
		for _, c := range s.Held {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\theld\theld, %s stays %s: %s\n", s.ImageID, dash(s.Family), created, c.Field,
				dash(c.From), c.Field, dash(c.From), s.HeldReason)
		}
	}
	_ = tw.Flush()
}

// Result is what Apply did.
type Result struct {
	Plan    *Plan
	Applied []AppliedStep
	// Held are planned deprecations that Apply did not make because a fresh
	// read of the family showed another run had changed it (floor or keep no
	// longer satisfied). They are not errors; the next run settles them.
	Held    []HeldStep
	Changed bool

	// diverged is set when a fresh read showed the state had moved away from
	// the plan (another run wrote in between): Run then settles.
	diverged bool
}

// AppliedStep is one ModifyImageAttribute that succeeded.
type AppliedStep struct {
	ImageID   string
	Changes   []FieldChange
	RequestID string
}

// HeldStep is a planned change Apply held back, with the reason.
type HeldStep struct {
	ImageID string        `json:"imageId"`
	Changes []FieldChange `json:"changes"`
	Reason  string        `json:"reason"`
}
