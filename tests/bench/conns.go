package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// batchRun is one 1,000-message invocation.
type batchRun struct {
	conns, requests int
	peakRSS         int64 // bytes
	took            time.Duration
}

// runBigBatch sends one invocation of n modify intents (each a real
// change) to a fresh instance at BATCH_CONCURRENCY=concurrency, and counts
// the TCP connections the emulator accepted and the instance's peak RSS.
func runBigBatch(binary string, n, concurrency int) (batchRun, error) {
	var imgs []emulator.SeedImage
	var intents []string
	for f := range 10 {
		fam := family(fmt.Sprintf("big%d", f), fmt.Sprintf("big%dx", f), (n+9)/10, ecsapi.StatusAvailable)
		imgs = append(imgs, fam...)
		for _, im := range fam {
			intents = append(intents, fmt.Sprintf(`{"action":"modify","imageId":%q,"attributes":{"description":"batch of %d"}}`, im.ImageID, n))
		}
	}
	intents = intents[:n]
	e, err := startECS(&emulator.Seed{Images: imgs})
	if err != nil {
		return batchRun{}, err
	}
	defer e.close()
	f, err := startFleet(binary, 1, instanceEnv(e.url(), "ECS_RATE_LIMIT=1000", "BATCH_CONCURRENCY="+strconv.Itoa(concurrency))...)
	if err != nil {
		return batchRun{}, err
	}
	defer f.close()
	inv, err := f.invoke(mnsBatch(intents), 300*time.Second)
	if err != nil {
		return batchRun{}, err
	}
	if inv.counts[report.Applied] != n {
		return batchRun{}, fmt.Errorf("the batch ended %v (%d failed), want %d applied", inv.counts, inv.failed, n)
	}
	hwm, err := vmHWM(f.cmds[0].Process.Pid)
	if err != nil {
		return batchRun{}, err
	}
	return batchRun{conns: int(e.ln.accepted.Load()), requests: count(e.probe.requests()).total, peakRSS: hwm, took: inv.took}, nil
}

// vmHWM is the peak resident set size of a running process, from /proc.
func vmHWM(pid int) (int64, error) {
	return procStatus(pid, "VmHWM:")
}

func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// measureConnections counts the connections of a big batch (1,000
// messages) at the default BATCH_CONCURRENCY and at a larger one, and the
// batch's peak RSS.
func (s *suite) measureConnections() error {
	n := s.batchMessages
	for _, c := range []int{8, 32} {
		var rs []batchRun
		for range s.runs {
			r, err := runBigBatch(s.binary, n, c)
			if err != nil {
				return fmt.Errorf("BATCH_CONCURRENCY=%d: %w", c, err)
			}
			rs = append(rs, r)
		}
		conns := medianOf(rs, func(r batchRun) float64 { return float64(r.conns) })
		reqs := medianOf(rs, func(r batchRun) float64 { return float64(r.requests) })
		var runs []string
		for _, r := range rs {
			runs = append(runs, fmt.Sprintf("%d conns/%d requests/%.1fs", r.conns, r.requests, r.took.Seconds()))
		}
		s.add("3 conns", fmt.Sprintf("%d-message batch, BATCH_CONCURRENCY=%d: TCP connections", n, c),
			fmt.Sprintf("%.0f for %.0f requests", conns, reqs), fmt.Sprintf("<= %d", c+2), conns <= float64(c+2),
			"accepted by the emulator's listener; ECS_RATE_LIMIT=1000; runs: "+strings.Join(runs, ", "))
		if c == 8 {
			rss := medianOf(rs, func(r batchRun) float64 { return float64(r.peakRSS) / (1 << 20) })
			s.add("4 cold", fmt.Sprintf("%d-message batch: peak RSS (VmHWM)", n), fmt.Sprintf("%.1f MiB", rss), "<= 40 MiB", rss <= 40,
				fmt.Sprintf("go1 binary under tests/fcfake, one invocation, LOG_LEVEL=info; took %.1f s (median)",
					medianOf(rs, func(r batchRun) float64 { return r.took.Seconds() })))
		}
	}
	return nil
}
