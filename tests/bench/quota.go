package main

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// quotaSettings size the quota runs.
type quotaSettings struct {
	q                           float64 // calls/s the emulator allows each API, shared by every client
	intents, batches, instances int
}

// quotaCase is one way of meeting the quota.
type quotaCase struct {
	name      string
	instances int
	rateLimit string // ECS_RATE_LIMIT of each instance
}

// quotaRun is what one run at the quota came to.
type quotaRun struct {
	sustained float64 // accepted ModifyImageAttribute per second over the middle half of the run
	overall   float64 // accepted ModifyImageAttribute per second from the first call to the last
	throttled float64 // share of all answers that were Throttling.*
	calls     int
	failed    int // messages that ended failed, deferred, dead-lettered or rejected
	changed   int
	wall      time.Duration
}

// run works the intents in the configured batches through c.instances
// instances of the function, all at once, against an emulator limiting each
// API to q. The runtime API fake hands each invocation to whichever instance
// polls first, and the go1 SDK polls again as soon as it has one, so each
// instance works several batches at once, as many as it happened to get
// (FC itself hands a go1 instance one at a time; the custom runtime, several).
func (c quotaCase) run(binary string, qs quotaSettings) (quotaRun, error) {
	const families = 20
	var imgs []emulator.SeedImage
	intents := make([]string, qs.intents)
	for f := range families {
		imgs = append(imgs, family(fmt.Sprintf("q%02d", f), fmt.Sprintf("q%02dx", f), qs.intents/families+1, ecsapi.StatusAvailable)...)
	}
	for i := range intents {
		// Image i/families of family i%families: every batch spans every family.
		id := fmt.Sprintf("m-q%02dx%05d", i%families, i/families)
		intents[i] = fmt.Sprintf(`{"action":"modify","imageId":%q,"attributes":{"description":"quota run %d"}}`, id, i)
	}
	e, err := startECS(&emulator.Seed{Images: imgs})
	if err != nil {
		return quotaRun{}, err
	}
	defer e.close()
	e.limitEachAPI(qs.q)
	f, err := startFleet(binary, c.instances, instanceEnv(e.url(), "ECS_RATE_LIMIT="+c.rateLimit)...)
	if err != nil {
		return quotaRun{}, err
	}
	defer f.close()

	per := (len(intents) + qs.batches - 1) / qs.batches
	var (
		mu   sync.Mutex
		r    quotaRun
		errs []error
		wg   sync.WaitGroup
	)
	start := time.Now()
	for b := range slices.Chunk(intents, per) {
		wg.Go(func() {
			inv, err := f.invoke(mnsBatch(b), 300*time.Second)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			r.failed += inv.failed + inv.counts[report.Deferred] + inv.counts[report.DeadLettered] + inv.counts[report.Rejected]
		})
	}
	wg.Wait()
	r.wall = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	reqs := e.probe.requests()
	t := count(reqs)
	r.calls, r.changed = t.total, len(t.changed)
	if t.total > 0 {
		r.throttled = float64(t.throttled) / float64(t.total)
	}
	r.sustained, r.overall = writeRates(reqs)
	return r, nil
}

// writeRates are the accepted ModifyImageAttribute calls per second over the
// middle half of the run (first to last request), where neither the full
// bucket of the start nor the tail of the last batch counts, and over all of it.
func writeRates(reqs []request) (sustained, overall float64) {
	if len(reqs) < 2 {
		return 0, 0
	}
	first, last := reqs[0].at, reqs[0].at
	for _, r := range reqs {
		first, last = minTime(first, r.at), maxTime(last, r.at)
	}
	span := last.Sub(first)
	if span <= 0 {
		return 0, 0
	}
	from, to := first.Add(span/4), first.Add(3*span/4)
	mid, all := 0, 0
	for _, r := range reqs {
		if r.action != "ModifyImageAttribute" || r.code != "" {
			continue
		}
		all++
		if !r.at.Before(from) && r.at.Before(to) {
			mid++
		}
	}
	return float64(mid) / to.Sub(from).Seconds(), float64(all) / span.Seconds()
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// measureQuota runs the intents alone at ECS_RATE_LIMIT=Q, with several
// instances each at Q sharing the one quota, and alone with the client
// limiter off (ECS_RATE_LIMIT=off: only the emulator's Throttling answers,
// retried, hold the calls back), runs times each, and adds their rows.
func (s *suite) measureQuota() error {
	qs := s.quota
	q := fmt.Sprintf("%g", qs.q)
	cases := []quotaCase{
		{name: "alone", instances: 1, rateLimit: q},
		{name: fmt.Sprintf("%d instances", qs.instances), instances: qs.instances, rateLimit: q},
		{name: "limiter off", instances: 1, rateLimit: config.RateLimitOff},
	}
	for _, c := range cases {
		var rs []quotaRun
		for range s.runs {
			r, err := c.run(s.binary, qs)
			if err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			rs = append(rs, r)
		}
		frac := medianOf(rs, func(r quotaRun) float64 { return r.sustained / qs.q })
		thr := medianOf(rs, func(r quotaRun) float64 { return 100 * r.throttled })
		failed := medianOf(rs, func(r quotaRun) float64 { return float64(r.failed) })
		detail := fmt.Sprintf("%d modify intents in %d batches, ECS_RATE_LIMIT=%s per instance, emulator Q=%g/s per API (burst Q); "+
			"medians: %.0f calls, %.0f images changed, %.1f s wall, %.2f x Q from the first call to the last (the bucket starts full); runs: %s",
			qs.intents, qs.batches, c.rateLimit, qs.q,
			medianOf(rs, func(r quotaRun) float64 { return float64(r.calls) }),
			medianOf(rs, func(r quotaRun) float64 { return float64(r.changed) }),
			medianOf(rs, func(r quotaRun) float64 { return r.wall.Seconds() }),
			medianOf(rs, func(r quotaRun) float64 { return r.overall / qs.q }),
			quotaRunsText(rs, qs.q))
		today := fmt.Sprintf("%.2f x Q, %.1f%% throttled, %.0f failed", frac, thr, failed)
		switch c.name {
		case "alone":
			s.add("2 quota", "alone, ECS_RATE_LIMIT=Q", today, ">= 0.95 x Q, <= 1%, 0 failed", frac >= 0.95 && thr <= 1 && failed == 0, detail)
			s.figure("quota/alone/fraction", frac)
		case "limiter off":
			s.info("2 quota", "alone, limiter off (ECS_RATE_LIMIT=off)", today, detail)
		default:
			s.add("2 quota", c.name+" sharing Q, each at Q", today, ">= 0.90 x Q, <= 2%, 0 failed", frac >= 0.90 && thr <= 2 && failed == 0, detail)
		}
	}
	return nil
}

func quotaRunsText(rs []quotaRun, q float64) string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%.2fxQ/%.1f%%/%d failed/%.0fs", r.sustained/q, 100*r.throttled, r.failed, r.wall.Seconds()))
	}
	return fmt.Sprint(out)
}
