package main

import (
	"debug/elf"
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
	rss         rssParts      // what is resident then, by kind
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
	rss, err := residentParts(f.cmds[0].Process.Pid)
	if err != nil {
		return coldRun{}, err
	}
	return coldRun{firstAnswer: took, peakRSS: hwm, rss: rss, calls: len(e.probe.requests()), output: f.output()}, nil
}

// rssParts splits a process's resident set: anonymous pages (heap, stacks)
// and file-backed ones (the pages of the binary mapped in: its code, its
// read-only data).
type rssParts struct{ anon, file int64 }

func residentParts(pid int) (rssParts, error) {
	anon, err := procStatus(pid, "RssAnon:")
	if err != nil {
		return rssParts{}, err
	}
	file, err := procStatus(pid, "RssFile:")
	return rssParts{anon: anon, file: file}, err
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
	if err := s.explainRSS(fn, fl); err != nil {
		return err
	}

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

// explainRSS says where the peak RSS of the function and of the floor is:
// anonymous memory (the heap) or the binary's own pages. The binary's read-only
// segments (code, read-only data, the function table) are mapped from the
// file, and most of their pages end up resident whatever runs: so the
// file-backed part follows their size, which the linker sets. One thing
// inflates it: a reachable call of reflect's method lookup by name (as
// text/template makes) keeps every exported method of every type that is
// put in an interface.
func (s *suite) explainRSS(fn, fl []coldRun) error {
	var seg [2]int64
	var byName [2]bool
	for i, bin := range []string{s.binary, s.floor} {
		var err error
		if seg[i], byName[i], err = readOnlySegments(bin); err != nil {
			return err
		}
	}
	mib := func(f func(coldRun) int64) func(coldRun) float64 {
		return func(r coldRun) float64 { return float64(f(r)) / (1 << 20) }
	}
	anon, file := mib(func(r coldRun) int64 { return r.rss.anon }), mib(func(r coldRun) int64 { return r.rss.file })
	s.info("4 cold", "peak RSS: anonymous + file-backed, vs the floor",
		fmt.Sprintf("%.1f + %.1f MiB vs %.1f + %.1f MiB", medianOf(fn, anon), medianOf(fn, file), medianOf(fl, anon), medianOf(fl, file)),
		fmt.Sprintf("RssAnon and RssFile from /proc after the first answer (medians); read-only segments of the binaries (code, "+
			"rodata, pclntab: what the file-backed part maps) %.1f vs %.1f MiB; reflect.Value.MethodByName linked "+
			"(every exported method kept): function %s, floor %s", float64(seg[0])/(1<<20), float64(seg[1])/(1<<20), yesNo(byName[0]), yesNo(byName[1])))
	return nil
}

// readOnlySegments is the size of the loadable segments of an ELF binary that
// are not writable, and whether it links reflect.Value.MethodByName.
func readOnlySegments(path string) (size int64, methodByName bool, err error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_W == 0 {
			size += int64(p.Filesz)
		}
	}
	syms, err := f.Symbols()
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w (built without its symbol table?)", path, err)
	}
	for _, sym := range syms {
		if sym.Name == "reflect.Value.MethodByName" {
			methodByName = true
		}
	}
	return size, methodByName, nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
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
