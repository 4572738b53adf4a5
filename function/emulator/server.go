// Package emulator is a local ECS image API (RPC style, version 2014-05-26)
// that the real ECS SDKs cannot tell from the service for the calls this
// project makes. It verifies both signatures Alibaba's SDKs use: HMAC-SHA1
// (SignatureVersion 1.0: alibaba-cloud-sdk-go, and the Tea SDKs' "v2") and
// ACS3-HMAC-SHA256 (V3: the Tea/Darabonba SDKs' default), with the nonce,
// the timestamp and the STS token. It keeps images, families, shares and
// instances in memory (and in a state file if asked), answers the documented
// error codes with their HTTP statuses, injects faults (throttling, 5xx,
// resets, slow answers) on demand, and shows the calls it answered (Calls,
// CallView, GET /_emulator/calls, a log line per request). It serves tests,
// benchmarks, the README demo and anyone pointing an SDK at it.
package emulator

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

// Options configure a Server.
type Options struct {
	Keys          map[string]string // AccessKeyId -> AccessKeySecret; nil means {"emulator": "emulator"}
	SecurityToken string            // if set, every request must carry this SecurityToken (STS)
	Seed          *Seed             // initial state; nil = empty
	// CreatingCalls: a Creating image becomes Available after this many API
	// calls that touch it (DescribeImages listing it or ModifyImageAttribute on
	// it); the call that reaches the count still sees Creating, the next one
	// sees Available. 0 = use CreatingFor.
	CreatingCalls int
	// CreatingFor: a Creating image becomes Available this long after the
	// emulator started or the image was added. 0 and CreatingCalls 0 = it stays
	// Creating until SetStatus.
	CreatingFor time.Duration
	Now         func() time.Time // clock for timestamps, skew check and Creating timers; nil = time.Now
	Region      string           // default region: the seed's, else "cn-hangzhou"
	// Log, if set, gets one line per request: the signature, the action, its
	// parameters (never a key, signature or token), the answer and the time taken.
	Log io.Writer
	// StateFile, if set, keeps the state across restarts: New loads it
	// instead of Seed when the file exists, and the state is written to it
	// (a temporary file renamed over it) at start and after every change.
	StateFile string
	// AfterWrite, if set, is called after every ModifyImageAttribute that
	// wrote, with the image before and after and every image of its region
	// as they now are, while the emulator holds its lock (it must not call
	// the Server): how a test checks an invariant, such as a family's floor,
	// on every write.
	AfterWrite func(before, after ecsapi.Image, region []ecsapi.Image)
}

// DefaultKey is the AccessKeyId and AccessKeySecret accepted when Options.Keys is nil.
const DefaultKey = "emulator"

// skewWindow is how far a request Timestamp may be from the server clock. The
// v1 RPC docs give no figure; the V3 signature docs say 15 minutes.
const skewWindow = 15 * time.Minute

// Server is the emulated ECS endpoint. It is safe for concurrent use.
type Server struct {
	keys     map[string]string
	token    string
	now      func() time.Time
	region   string
	account  string
	creating struct {
		calls int
		dur   time.Duration
	}

	mu            sync.Mutex
	images        map[string]*image
	instances     []SeedInstance
	calls         map[string]int // authenticated calls by action
	rejected      map[string]int // refused calls by error code
	modifies      []ModifyRecord
	modifyDropped int
	faults        map[string]*faultState
	nonces        nonceMemory
	seq           uint64

	log   io.Writer
	logMu sync.Mutex // one line at a time

	afterWrite func(before, after ecsapi.Image, region []ecsapi.Image)

	state stateFile
	dirty bool // the state changed since it was last saved

	httpSrv *http.Server
	url     string
}

// image is an image plus the state the emulator keeps beside it.
type image struct {
	ecsapi.Image
	sharedWith    map[string]time.Time // account id -> when it was shared
	licenseType   string
	osType        string    // linux | windows
	architecture  string    // x86_64 | i386 | arm64
	touches       int       // calls that touched it while Creating
	addedAt       time.Time // start of the CreatingFor timer
	startProgress int       // progress when it was added, for interpolation
}

// New builds a Server that is not listening; use it as an http.Handler or with Serve.
func New(opts Options) (*Server, error) {
	if opts.CreatingCalls < 0 || opts.CreatingFor < 0 {
		return nil, errors.New("emulator: CreatingCalls and CreatingFor must not be negative")
	}
	s := &Server{
		keys:       opts.Keys,
		token:      opts.SecurityToken,
		now:        opts.Now,
		region:     opts.Region,
		images:     map[string]*image{},
		calls:      map[string]int{},
		rejected:   map[string]int{},
		faults:     map[string]*faultState{},
		log:        opts.Log,
		state:      stateFile{path: opts.StateFile},
		nonces:     nonceMemory{seen: map[string]time.Time{}},
		afterWrite: opts.AfterWrite,
	}
	if s.keys == nil {
		s.keys = map[string]string{DefaultKey: DefaultKey}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.creating.calls, s.creating.dur = opts.CreatingCalls, opts.CreatingFor
	seed := opts.Seed
	if opts.StateFile != "" {
		saved, err := loadState(opts.StateFile)
		if err != nil {
			return nil, err
		}
		if saved != nil {
			seed = saved
		}
	}
	s.plant(seed)
	if opts.StateFile != "" {
		// Written at once, so a path that cannot be written fails at start.
		s.dirty = true
		if err := s.persist(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// plant takes the seed's region (unless Options named one), account, images
// and instances; a nil seed plants nothing but the defaults.
func (s *Server) plant(seed *Seed) {
	if seed != nil {
		s.region = cmp.Or(s.region, seed.Region)
		s.account = seed.AccountID
	}
	s.region = cmp.Or(s.region, "cn-hangzhou")
	s.account = cmp.Or(s.account, "1234567890123456")
	if seed == nil {
		return
	}
	for _, img := range seed.Images {
		s.putImage(img)
	}
	for _, in := range seed.Instances {
		in.RegionID = cmp.Or(in.RegionID, s.region)
		in.Status = cmp.Or(in.Status, "Running")
		s.instances = append(s.instances, in)
	}
}

// Start builds a Server and serves it on 127.0.0.1 at a free port.
func Start(opts Options) (*Server, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("emulator: listen: %w", err)
	}
	// Known before Serve starts, so URL is right as soon as Start returns.
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + l.Addr().String()
	go s.serve(s.httpSrv, l) //nolint:errcheck // ends when Close is called
	return s, nil
}

// Serve answers requests on l until Close.
func (s *Server) Serve(l net.Listener) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.httpSrv = srv
	s.url = "http://" + l.Addr().String()
	s.mu.Unlock()
	return s.serve(srv, l)
}

func (s *Server) serve(srv *http.Server, l net.Listener) error {
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// URL is the base URL of a listening server, "http://127.0.0.1:PORT" ("" before Serve).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops serving and drops open connections.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.httpSrv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// Calls counts the requests that reached action (authenticated), faulted ones included.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

// ResetCalls sets every call counter to zero and empties the ModifyImageAttribute log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.calls)
	clear(s.rejected)
	s.modifies, s.modifyDropped = nil, 0
}

// lockCurrent locks the state and brings every Creating image up to now,
// as every read and write of an image sees it; it returns the unlock:
// defer s.lockCurrent()().
func (s *Server) lockCurrent() (unlock func()) {
	s.mu.Lock()
	s.advanceAll()
	return s.mu.Unlock
}

// Image returns the current state of one image.
func (s *Server) Image(id string) (ecsapi.Image, bool) {
	defer s.lockCurrent()()
	img, ok := s.images[id]
	if !ok {
		return ecsapi.Image{}, false
	}
	return s.snapshot(img), true
}

// Images returns every image, sorted by CreationTime then ImageId.
func (s *Server) Images() []ecsapi.Image {
	defer s.lockCurrent()()
	out := make([]ecsapi.Image, 0, len(s.images))
	for _, img := range s.images {
		out = append(out, s.snapshot(img))
	}
	slices.SortFunc(out, func(a, b ecsapi.Image) int {
		if c := a.CreationTime.Compare(b.CreationTime); c != 0 {
			return c
		}
		return strings.Compare(a.ImageID, b.ImageID)
	})
	return out
}

// PutImage adds an image or replaces the one with the same id. The error is
// that of saving the state file, if there is one.
func (s *Server) PutImage(img SeedImage) error {
	s.mu.Lock()
	s.putImage(img)
	s.dirty = true
	s.mu.Unlock()
	return s.persist()
}

// SetStatus forces an image's status (Progress follows: 100 unless Creating).
func (s *Server) SetStatus(imageID, status string) error {
	s.mu.Lock()
	img, ok := s.images[imageID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("emulator: image %s: InvalidImageId.NotFound", imageID)
	}
	img.Status = status
	if status == ecsapi.StatusCreating {
		img.touches, img.addedAt, img.startProgress = 0, s.now(), img.Progress
	} else {
		img.Progress = 100
	}
	s.dirty = true
	s.mu.Unlock()
	return s.persist()
}

func (s *Server) putImage(si SeedImage) {
	img := &image{Image: si.Image, licenseType: si.LicenseType, osType: cmp.Or(si.OSType, "linux"),
		architecture: cmp.Or(si.Architecture, "x86_64"), sharedWith: map[string]time.Time{}, addedAt: s.now()}
	img.Usage = "" // derived from the instances, see snapshot
	if img.OwnerAlias == "" {
		img.OwnerAlias = "self"
	}
	if img.RegionID == "" {
		img.RegionID = s.region
	}
	if img.Status == "" {
		img.Status = ecsapi.StatusAvailable
	}
	if img.Status != ecsapi.StatusCreating && img.Progress == 0 {
		img.Progress = 100
	}
	if img.CreationTime.IsZero() {
		img.CreationTime = s.now().UTC().Truncate(time.Second)
	}
	img.Tags = maps.Clone(img.Tags)
	for _, acct := range si.SharedWith {
		img.sharedWith[acct] = img.CreationTime
	}
	img.startProgress = img.Progress
	s.images[img.ImageID] = img
}

// snapshot is the image as callers see it: Usage reflects the instances.
func (s *Server) snapshot(img *image) ecsapi.Image {
	out := img.Image
	out.Tags = maps.Clone(img.Tags)
	out.Usage = "none"
	if s.instancesUsing(img.ImageID) > 0 {
		out.Usage = "instance"
	}
	return out
}

func (s *Server) instancesUsing(imageID string) int {
	n := 0
	for _, in := range s.instances {
		if in.ImageID == imageID {
			n++
		}
	}
	return n
}

// advanceAll moves time-driven Creating images along.
func (s *Server) advanceAll() {
	for _, img := range s.images {
		s.advance(img)
	}
}

// touch records that a call looked at img; call-driven Creating images move on.
func (s *Server) touch(img *image) {
	if img.Status != ecsapi.StatusCreating {
		return
	}
	img.touches++
	s.advance(img)
}

func (s *Server) advance(img *image) {
	if img.Status != ecsapi.StatusCreating {
		return
	}
	var done float64
	switch {
	case s.creating.calls > 0:
		done = float64(img.touches) / float64(s.creating.calls)
	case s.creating.dur > 0:
		done = float64(s.now().Sub(img.addedAt)) / float64(s.creating.dur)
	default:
		return
	}
	if done >= 1 {
		img.Status, img.Progress = ecsapi.StatusAvailable, 100
		s.dirty = true
		return
	}
	p := img.startProgress + int(float64(100-img.startProgress)*max(done, 0))
	if p = min(max(p, img.Progress), 99); p != img.Progress {
		img.Progress = p
		s.dirty = true
	}
}

func (s *Server) ownerID() int64 {
	id, _ := strconv.ParseInt(s.account, 10, 64)
	return id
}
