package lifecycle

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/retry"
)

// pageSize is the largest page DescribeImages serves, and the largest number of
// ImageIds one DescribeImages accepts.
const pageSize = 100

// listedStatuses are the statuses the engine reads. DescribeImages returns only
// Available images unless told otherwise; Deprecated ones are needed for
// rollback and convergence, Creating ones so a promote can see its image.
var listedStatuses = []string{ecsapi.StatusAvailable, ecsapi.StatusDeprecated, ecsapi.StatusCreating}

// liveStatuses are what a read after a run's own writes lists: the images
// that can still change the family's Available set. After a rotation most of
// a family is Deprecated, and this read is one page where a complete listing
// is several; the Deprecated images are known from the listing before, as
// updated by the run's own writes (setLive).
var liveStatuses = []string{ecsapi.StatusAvailable, ecsapi.StatusCreating}

// freshFor is how old a family's listing may be and still count as fresh for
// Apply's re-check before a deprecation (recentFamily). The re-check narrows
// the time between the read a deprecation is judged on and its write; a
// listing read by the plan a moment ago, or by the previous message's read
// after its writes, is as fresh as a new read would be by the time that read
// came back (a listing takes a call or more, and the rate limit spaces
// calls). What another run writes after it is caught by the read after the
// writes (RestoreFloors), as with any re-check.
const freshFor = time.Second

// Cache holds what one invocation has read, so that a batch of intents on the
// same region and family reads the family once and a batch of image ids is
// read 100 at a time. The engine's own writes update it. It is safe for
// concurrent use; it must not outlive an invocation (other writers exist).
type Cache struct {
	mu       sync.Mutex
	images   map[imageKey]ecsapi.Image
	missing  map[imageKey]bool       // looked up by id and not found
	families map[familyKey]time.Time // the family's complete listing is cached, read then
	regions  map[string]time.Time    // the region's complete listing is cached, read then

	// seq orders this invocation's listings and writes, so that the read
	// after the writes (RestoreFloors) can tell whether the family's cached
	// state comes from a listing that started after the last write to it,
	// and needs no new read.
	seq        uint64
	listedSeq  map[familyKey]uint64 // a listing of the family (complete or live) started at
	regionSeq  map[string]uint64    // a listing of the whole region started at
	writtenSeq map[familyKey]uint64 // the last write to an image of the family ended at
}

type imageKey struct{ region, id string }
type familyKey struct{ region, family string }

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{
		images:   map[imageKey]ecsapi.Image{},
		missing:  map[imageKey]bool{},
		families: map[familyKey]time.Time{},
		regions:  map[string]time.Time{},

		listedSeq:  map[familyKey]uint64{},
		regionSeq:  map[string]uint64{},
		writtenSeq: map[familyKey]uint64{},
	}
}

// ticket is taken just before a listing is sent: the listing shows every
// write that ended before it.
func (c *Cache) ticket() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	return c.seq
}

// listedAfterWrites reports whether the cached state of a family comes from a
// listing (of the family, its live images, or the region) sent after this
// invocation's last write to an image of that family: the listing shows
// every one of those writes, and a read now would add only what other runs
// wrote since, which no read can rule out anyway.
func (c *Cache) listedAfterWrites(region, family string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := familyKey{region, family}
	listed := max(c.listedSeq[k], c.regionSeq[region])
	return listed > 0 && listed > c.writtenSeq[k]
}

// sortImages orders images oldest first by CreationTime, then ImageId, so that
// every run agrees on which image is the newest.
func sortImages(imgs []ecsapi.Image) {
	slices.SortFunc(imgs, compareImages)
}

func compareImages(a, b ecsapi.Image) int {
	if c := a.CreationTime.Compare(b.CreationTime); c != 0 {
		return c
	}
	return cmp.Compare(a.ImageID, b.ImageID)
}

func (c *Cache) put(region string, imgs []ecsapi.Image) {
	for _, img := range imgs {
		k := imageKey{region, img.ImageID}
		c.images[k] = img
		delete(c.missing, k)
	}
}

// image returns a cached image, and whether the id was looked up at all.
func (c *Cache) image(region, id string) (img ecsapi.Image, found, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := imageKey{region, id}
	if img, ok := c.images[k]; ok {
		return img, true, true
	}
	return ecsapi.Image{}, false, c.missing[k]
}

// family returns the cached listing of a family, oldest first, and when it
// was read (the family's own listing or the region's, the later).
func (c *Cache) family(region, family string) (imgs []ecsapi.Image, readAt time.Time, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	byFamily, listed := c.families[familyKey{region, family}]
	byRegion, regionListed := c.regions[region]
	if !listed && !regionListed {
		return nil, time.Time{}, false
	}
	if byRegion.After(byFamily) {
		byFamily = byRegion
	}
	var out []ecsapi.Image
	for k, img := range c.images {
		if k.region == region && img.Family == family {
			out = append(out, img)
		}
	}
	sortImages(out)
	return out, byFamily, true
}

// setFamily records a complete, fresh listing of a family: images that were
// cached in it and are no longer listed have left it.
func (c *Cache) setFamily(region, family string, imgs []ecsapi.Image, readAt time.Time, ticket uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listed(familyKey{region, family}, ticket)
	for k, img := range c.images {
		if k.region == region && img.Family == family {
			delete(c.images, k)
		}
	}
	c.put(region, imgs)
	c.families[familyKey{region, family}] = readAt
}

func (c *Cache) setRegion(region string, imgs []ecsapi.Image, readAt time.Time, ticket uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.regionSeq[region] = max(c.regionSeq[region], ticket)
	for k := range c.images {
		if k.region == region {
			delete(c.images, k)
		}
	}
	c.put(region, imgs)
	c.regions[region] = readAt
}

func (c *Cache) setImages(region string, ids []string, imgs []ecsapi.Image) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		k := imageKey{region, id}
		delete(c.images, k)
		c.missing[k] = true
	}
	c.put(region, imgs)
}

// setLive lays a fresh listing of a family's live (Available, Creating)
// images, read at readAt, over its cached listing: an image cached as live
// and no longer listed has left the live set (another run deprecated, moved
// or deleted it; which is not known) and is dropped; a Deprecated one stays as
// cached. The family counts as listed, and fresh, only when it was listed
// before: a live listing alone does not know its Deprecated images.
func (c *Cache) setLive(region, family string, live []ecsapi.Image, readAt time.Time, ticket uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listed(familyKey{region, family}, ticket)
	for k, img := range c.images {
		if k.region == region && img.Family == family && img.Status != ecsapi.StatusDeprecated {
			delete(c.images, k)
		}
	}
	c.put(region, live)
	k := familyKey{region, family}
	_, byFamily := c.families[k]
	_, byRegion := c.regions[region]
	if byFamily || byRegion {
		c.families[k] = readAt
	}
}

// listed records that a listing of family k was sent at ticket. c.mu is held.
func (c *Cache) listed(k familyKey, ticket uint64) {
	c.listedSeq[k] = max(c.listedSeq[k], ticket)
}

// regionListed reports whether the region's complete listing is cached.
func (c *Cache) regionListed(region string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, listed := c.regions[region]
	return listed
}

// forget drops the listings of the families (and of the region, which
// covers them), so that the next plan reads them fresh.
func (c *Cache) forget(region string, families []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.regions, region)
	for _, f := range families {
		delete(c.families, familyKey{region, f})
	}
}

// applied records a successful ModifyImageAttribute in the cache.
func (c *Cache) applied(region, id string, changes []FieldChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := imageKey{region, id}
	img, ok := c.images[k]
	if !ok {
		return
	}
	c.seq++
	c.writtenSeq[familyKey{region, img.Family}] = c.seq
	toAPI(changes).ApplyTo(&img)
	c.images[k] = img
	c.writtenSeq[familyKey{region, img.Family}] = c.seq // a move writes to both families
}

// reader reads images through the API, filling the cache.
type reader struct {
	api   ecsapi.API
	cache *Cache
	clock retry.Budget // tells when a listing is read
}

func (r reader) now() time.Time { return r.clock.Now() }

// pages reads every page of a listing, 100 at a time.
func (r reader) pages(ctx context.Context, in ecsapi.DescribeImagesInput) ([]ecsapi.Image, error) {
	in.PageSize = pageSize
	if in.Statuses == nil {
		in.Statuses = listedStatuses
	}
	in.OwnerAlias = "self"
	var all []ecsapi.Image
	for page := 1; ; page++ {
		in.PageNumber = page
		p, err := r.api.DescribeImages(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("lifecycle: read images (page %d): %w", page, err)
		}
		all = append(all, p.Images...)
		// TotalCount ends the listing; an empty page ends it too, should the
		// count shrink under concurrent writes.
		if len(p.Images) == 0 || len(all) >= p.TotalCount {
			break
		}
	}
	// A page boundary can repeat an image when another writer changes the
	// listing between pages; keep the first copy.
	seen := map[string]bool{}
	all = slices.DeleteFunc(all, func(img ecsapi.Image) bool {
		dup := seen[img.ImageID]
		seen[img.ImageID] = true
		return dup
	})
	sortImages(all)
	return all, nil
}

// family returns a family's images (Available, Deprecated, Creating), oldest
// first, from the cache unless fresh is set.
func (r reader) family(ctx context.Context, region, family string, fresh bool) ([]ecsapi.Image, error) {
	if !fresh {
		if imgs, _, ok := r.cache.family(region, family); ok {
			return imgs, nil
		}
	}
	return r.listFamily(ctx, region, family)
}

// recentFamily returns a family's images as cached when the listing was read
// less than freshFor ago (as updated by this invocation's own writes since),
// and reads it afresh otherwise.
func (r reader) recentFamily(ctx context.Context, region, family string) ([]ecsapi.Image, error) {
	if imgs, readAt, ok := r.cache.family(region, family); ok && r.now().Sub(readAt) < freshFor {
		return imgs, nil
	}
	return r.listFamily(ctx, region, family)
}

// listFamily reads a family's listing and caches it.
func (r reader) listFamily(ctx context.Context, region, family string) ([]ecsapi.Image, error) {
	readAt, ticket := r.now(), r.cache.ticket()
	imgs, err := r.pages(ctx, ecsapi.DescribeImagesInput{RegionID: region, Family: family})
	if err != nil {
		return nil, err
	}
	imgs = onlyFamily(imgs, family)
	r.cache.setFamily(region, family, imgs, readAt, ticket)
	return imgs, nil
}

// liveFamily reads a family's live images afresh, over what the cache knows
// of the rest (setLive), after the run's own writes.
func (r reader) liveFamily(ctx context.Context, region, family string) error {
	readAt, ticket := r.now(), r.cache.ticket()
	imgs, err := r.pages(ctx, ecsapi.DescribeImagesInput{RegionID: region, Family: family, Statuses: liveStatuses})
	if err != nil {
		return err
	}
	r.cache.setLive(region, family, onlyFamily(imgs, family), readAt, ticket)
	return nil
}

// onlyFamily keeps the images of family: the server filters by family, and
// this keeps only exact matches in case a backend matches loosely.
func onlyFamily(imgs []ecsapi.Image, family string) []ecsapi.Image {
	return slices.DeleteFunc(imgs, func(img ecsapi.Image) bool { return img.Family != family })
}

// region returns every own image of the region grouped by family.
func (r reader) region(ctx context.Context, region string) (map[string][]ecsapi.Image, error) {
	r.cache.mu.Lock()
	_, cached := r.cache.regions[region]
	r.cache.mu.Unlock()
	if !cached {
		readAt, ticket := r.now(), r.cache.ticket()
		imgs, err := r.pages(ctx, ecsapi.DescribeImagesInput{RegionID: region})
		if err != nil {
			return nil, err
		}
		r.cache.setRegion(region, imgs, readAt, ticket)
	}
	r.cache.mu.Lock()
	defer r.cache.mu.Unlock()
	out := map[string][]ecsapi.Image{}
	for k, img := range r.cache.images {
		if k.region == region && img.Family != "" {
			out[img.Family] = append(out[img.Family], img)
		}
	}
	for _, imgs := range out {
		sortImages(imgs)
	}
	return out, nil
}

// images reads the given ids that are not cached yet, up to 100 per call.
func (r reader) images(ctx context.Context, region string, ids []string) error {
	var todo []string
	for _, id := range ids {
		if _, _, known := r.cache.image(region, id); !known && !slices.Contains(todo, id) {
			todo = append(todo, id)
		}
	}
	for chunk := range slices.Chunk(todo, pageSize) {
		imgs, err := r.pages(ctx, ecsapi.DescribeImagesInput{RegionID: region, ImageIDs: chunk})
		if err != nil {
			return err
		}
		r.cache.setImages(region, chunk, imgs)
	}
	return nil
}

// image returns one image, from the cache unless fresh is set.
func (r reader) image(ctx context.Context, region, id string, fresh bool) (ecsapi.Image, error) {
	if fresh {
		imgs, err := r.pages(ctx, ecsapi.DescribeImagesInput{RegionID: region, ImageIDs: []string{id}})
		if err != nil {
			return ecsapi.Image{}, err
		}
		r.cache.setImages(region, []string{id}, imgs)
	} else if err := r.images(ctx, region, []string{id}); err != nil {
		return ecsapi.Image{}, err
	}
	img, found, _ := r.cache.image(region, id)
	if !found {
		return ecsapi.Image{}, notFound(id)
	}
	return img, nil
}
