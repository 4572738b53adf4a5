package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// coldRun is one process from start to its first answer.
type coldRun struct {
	firstAnswer time.Duration // from starting the process to the first invocation's answer
	peakRSS     int64         // VmHWM after that answer, bytes
	calls       int           // ECS requests the invocation made
	output      string        // what the process wrote (inittrace, logs)
}

// coldStart starts binary as a fresh go1 instance and invokes it once with
// payload; check looks at the answer.
func coldStart(binary string, e *ecs, payload []byte, check func([]byte) error, env ...string) (coldRun, error) {
	e.reset()
	start := time.Now()
	f, err := startFleet(binary, 1, instanceEnv(e.url(), env...)...)
	if err != nil {
		return coldRun{}, err
	}
	defer f.close()
	inv, err := f.invoke(payload, 300*time.Second)
	took := time.Since(start)
	if err != nil {
		return coldRun{}, err
	}
	if err := check(inv.body); err != nil {
		return coldRun{}, err
	}
	hwm, err := vmHWM(f.cmds[0].Process.Pid)
	if err != nil {
		return coldRun{}, err
	}
	return coldRun{firstAnswer: took, peakRSS: hwm, calls: len(e.probe.requests()), output: f.output()}, nil
}

// coldIntent is already converged: the function reads the image (one
// DescribeImages, as the floor makes) and changes nothing.
const coldIntent = `{"action":"modify","imageId":"m-cold00000","attributes":{"description":"generated"}}`

func checkUnchanged(body []byte) error {
	var rep report.Report
	if err := json.Unmarshal(body, &rep); err != nil || rep.Counts[report.Unchanged] != 1 {
		return fmt.Errorf("function answered %.300s, want one unchanged message", body)
	}
	return nil
}

func checkFloor(body []byte) error {
	var a struct{ Images int }
	if err := json.Unmarshal(body, &a); err != nil || a.Images == 0 {
		return fmt.Errorf("floor answered %.300s, want the images it listed", body)
	}
	return nil
}

// measureColdStart compares the function with the floor, runs alternating
// so that a busy moment of the machine falls on both, and reads what runs
// at package init (GODEBUG=inittrace=1).
func (s *suite) measureColdStart() error {
	e, err := startECS(&emulator.Seed{Images: family("cold", "cold", 3, ecsapi.StatusAvailable)})
	if err != nil {
		return err
	}
	defer e.close()
	fnPayload := mnsBatch([]string{coldIntent})
	n := max(51, 17*s.runs) // cheap (about 10 ms each), and the spread between runs is wide on a busy machine
	var fn, fl []coldRun
	for range n {
		r, err := coldStart(s.binary, e, fnPayload, checkUnchanged)
		if err != nil {
			return fmt.Errorf("function: %w", err)
		}
		fn = append(fn, r)
		if r, err = coldStart(s.floor, e, []byte(`{}`), checkFloor); err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		fl = append(fl, r)
	}
	ms := func(r coldRun) float64 { return float64(r.firstAnswer.Microseconds()) / 1000 }
	mib := func(r coldRun) float64 { return float64(r.peakRSS) / (1 << 20) }
	fnT, flT, fnM, flM := medianOf(fn, ms), medianOf(fl, ms), medianOf(fn, mib), medianOf(fl, mib)
	// The ratio is the median of each pair's (run one after the other):
	// the machine's load moves both alike, which a ratio of medians misses.
	tRatio, mRatio := pairRatio(fn, fl, ms), pairRatio(fn, fl, mib)
	s.add("4 cold", "process start -> first answer, vs the floor", fmt.Sprintf("%.2f x (%.1f ms vs %.1f ms)", tRatio, fnT, flT), "<= 1.3 x",
		tRatio <= 1.3, fmt.Sprintf("median of the ratios of %d alternating pairs; quartiles %s vs %s ms; ECS calls: function %d, floor %d "+
			"(tests/bench/floor: fc-runtime-go-sdk + alibaba-cloud-sdk-go, one DescribeImages)",
			n, quartiles(fn, ms), quartiles(fl, ms), fn[0].calls, fl[0].calls))
	s.add("4 cold", "peak RSS after the first answer, vs the floor", fmt.Sprintf("%.2f x (%.1f MiB vs %.1f MiB)", mRatio, fnM, flM), "<= 1.5 x",
		mRatio <= 1.5, fmt.Sprintf("VmHWM from /proc after the first answer; binaries %.1f MiB vs %.1f MiB", fileMiB(s.binary), fileMiB(s.floor)))
	s.figure("cold/function-ms", fnT)

	// Package init, once each.
	fnInit, err := coldStart(s.binary, e, fnPayload, checkUnchanged, "GODEBUG=inittrace=1")
	if err != nil {
		return err
	}
	flInit, err := coldStart(s.floor, e, []byte(`{}`), checkFloor, "GODEBUG=inittrace=1")
	if err != nil {
		return err
	}
	fi, li := parseInitTrace(fnInit.output), parseInitTrace(flInit.output)
	own := fi.only(modulePath)
	s.add("4 cold", "package init of this module's packages", fmt.Sprintf("%.2f ms, %d allocs", own.ms, own.allocs),
		"nothing heavy: < 250 allocs", own.allocs < 250,
		fmt.Sprintf("GODEBUG=inittrace=1; heaviest: %s; whole binary %.2f ms, %d allocs, %d KiB vs the floor's %.2f ms, %d allocs, %d KiB",
			own.top(3), fi.ms, fi.allocs, fi.bytes>>10, li.ms, li.allocs, li.bytes>>10))
	return nil
}

// modulePath prefixes this module's packages in an init trace.
const modulePath = "github.com/ecs-image-lifecycle/image-lifecycle/"

// initTrace sums GODEBUG=inittrace=1 lines:
//
//	init github.com/x/y @1.2 ms, 0.31 ms clock, 12345 bytes, 67 allocs
type initTrace struct {
	ms            float64
	bytes, allocs int64
	pkgs          []initPkg
}

type initPkg struct {
	name          string
	ms            float64
	bytes, allocs int64
}

func parseInitTrace(out string) initTrace {
	var t initTrace
	for line := range strings.Lines(out) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "init ")
		if !ok {
			continue
		}
		name, rest, _ := strings.Cut(rest, " @")
		parts := strings.Split(rest, ", ")
		if len(parts) != 4 {
			continue
		}
		var p initPkg
		p.name = name
		p.ms, _ = strconv.ParseFloat(strings.TrimSuffix(parts[1], " ms clock"), 64)
		p.bytes, _ = strconv.ParseInt(strings.TrimSuffix(parts[2], " bytes"), 10, 64)
		p.allocs, _ = strconv.ParseInt(strings.TrimSuffix(parts[3], " allocs"), 10, 64)
		t.add(p)
	}
	return t
}

func (t *initTrace) add(p initPkg) {
	t.ms += p.ms
	t.bytes += p.bytes
	t.allocs += p.allocs
	t.pkgs = append(t.pkgs, p)
}

// only is the part of the trace of packages under prefix.
func (t initTrace) only(prefix string) initTrace {
	var out initTrace
	for _, p := range t.pkgs {
		if strings.HasPrefix(p.name, prefix) {
			out.add(p)
		}
	}
	return out
}

// top names the n packages with the most allocations at init.
func (t initTrace) top(n int) string {
	ps := slices.Clone(t.pkgs)
	slices.SortFunc(ps, func(a, b initPkg) int { return int(b.allocs - a.allocs) })
	var out []string
	for _, p := range ps[:min(n, len(ps))] {
		out = append(out, fmt.Sprintf("%s %.2f ms %d allocs", strings.TrimPrefix(p.name, modulePath), p.ms, p.allocs))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// fileMiB is the size of a file in MiB (0 if it cannot be read).
func fileMiB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

// quartiles is "q1-q3" of f over runs.
func quartiles(runs []coldRun, f func(coldRun) float64) string {
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = f(r)
	}
	slices.Sort(xs)
	return fmt.Sprintf("%.1f-%.1f", xs[len(xs)/4], xs[3*len(xs)/4])
}

// pairRatio is the median over i of f(a[i]) / f(b[i]).
func pairRatio(a, b []coldRun, f func(coldRun) float64) float64 {
	xs := make([]float64, len(a))
	for i := range a {
		xs[i] = f(a[i]) / f(b[i])
	}
	return median(xs)
}
