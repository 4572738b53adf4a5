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
	return batchRun{conns: int(e.ln.Accepted()), requests: count(e.probe.requests()).total, peakRSS: hwm, took: inv.took}, nil
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

// warmInvocations is how many one-message invocations the warm instance gets.
const warmInvocations = 10

// runWarm sends warmInvocations invocations of one modify each, one after
// the other, to one instance, and counts the connections they opened.
func runWarm(binary string) (conns int, err error) {
	fam := family("warm", "warm", warmInvocations, ecsapi.StatusAvailable)
	e, err := startECS(&emulator.Seed{Images: fam})
	if err != nil {
		return 0, err
	}
	defer e.close()
	f, err := startFleet(binary, 1, instanceEnv(e.url(), "ECS_RATE_LIMIT=1000")...)
	if err != nil {
		return 0, err
	}
	defer f.close()
	for _, im := range fam {
		inv, err := f.invoke(mnsBatch([]string{fmt.Sprintf(`{"action":"modify","imageId":%q,"attributes":{"description":"warm"}}`, im.ImageID)}), 300*time.Second)
		if err != nil {
			return 0, err
		}
		if inv.counts[report.Applied] != 1 {
			return 0, fmt.Errorf("invocation ended %v (%d failed), want applied", inv.counts, inv.failed)
		}
	}
	return int(e.ln.Accepted()), nil
}

// measureConnections counts the connections of a big batch (1,000
// messages) at several BATCH_CONCURRENCY values, the batch's peak RSS at the
// default, and the connections of a warm instance across invocations.
func (s *suite) measureConnections() error {
	n := s.batchMessages
	at := map[int][]batchRun{}
	for _, c := range []int{1, 2, 8, 32} {
		for range s.runs {
			r, err := runBigBatch(s.binary, n, c)
			if err != nil {
				return fmt.Errorf("BATCH_CONCURRENCY=%d: %w", c, err)
			}
			at[c] = append(at[c], r)
		}
	}
	conns := func(c int) float64 { return medianOf(at[c], func(r batchRun) float64 { return float64(r.conns) }) }
	for _, c := range []int{8, 32} {
		rs := at[c]
		reqs := medianOf(rs, func(r batchRun) float64 { return float64(r.requests) })
		var runs []string
		for _, r := range rs {
			runs = append(runs, fmt.Sprintf("%d conns/%d requests/%.1fs", r.conns, r.requests, r.took.Seconds()))
		}
		s.add("3 conns", fmt.Sprintf("%d-message batch, BATCH_CONCURRENCY=%d: TCP connections", n, c),
			fmt.Sprintf("%.0f for %.0f requests", conns(c), reqs), fmt.Sprintf("<= %d", c+2), conns(c) <= float64(c+2),
			fmt.Sprintf("accepted by the emulator's listener, ECS_RATE_LIMIT=1000; at BATCH_CONCURRENCY 1: %.0f, 2: %.0f; runs: %s",
				conns(1), conns(2), strings.Join(runs, ", ")))
	}
	rs := at[8]
	rss := medianOf(rs, func(r batchRun) float64 { return float64(r.peakRSS) / (1 << 20) })
	s.add("4 cold", fmt.Sprintf("%d-message batch: peak RSS (VmHWM)", n), fmt.Sprintf("%.1f MiB", rss), "<= 40 MiB", rss <= 40,
		fmt.Sprintf("go1 binary under tests/fcfake, one invocation, BATCH_CONCURRENCY 8, LOG_LEVEL=info; took %.1f s (median)",
			medianOf(rs, func(r batchRun) float64 { return r.took.Seconds() })))

	var warm []float64
	for range s.runs {
		c, err := runWarm(s.binary)
		if err != nil {
			return fmt.Errorf("warm instance: %w", err)
		}
		warm = append(warm, float64(c))
	}
	s.add("3 conns", fmt.Sprintf("warm instance, %d one-message invocations: TCP connections", warmInvocations),
		fmt.Sprintf("%.0f", median(warm)), "<= 2 (one transport per process)", median(warm) <= 2,
		fmt.Sprintf("%d invocations in a row, 2 ECS calls each (read, write)", warmInvocations))
	return nil
}
