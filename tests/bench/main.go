// Command bench is the benchmark suite of issue 11: what the function costs
// in ECS calls, in the shared per-API quota, in TCP connections, at cold start
// and in memory, per message in CPU and allocations, while waiting for a
// Creating image, and what that makes a nightly rotation at scale cost. It
// builds the function as `s deploy` does, drives the compiled binary under
// FC's go1 runtime (tests/fcfake) against the ECS emulator served in this
// process, and reads every figure from outside the function: the emulator's
// request log, the connections its listener accepted, /proc. It prints one
// table, each measure with its target and verdict.
//
//	go run ./tests/bench                 # the whole suite (about 6 minutes on 2 cores)
//	go run ./tests/bench -only calls,cold -runs 5
//	go run ./tests/bench -md BENCHMARKS.md   # also rewrite the generated part of BENCHMARKS.md
//
// It is a measurement, not a test: a gap is reported, never a failure; it
// exits non-zero only when something could not be measured.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// suite is one run of the benchmark suite.
type suite struct {
	root   string // the repository
	binary string // the function, built as s deploy builds it
	floor  string // tests/bench/floor, the minimal fc-runtime-go-sdk function
	runs   int
	// batchMessages is the size of the batch whose connections and peak RSS are measured.
	batchMessages int
	quota         quotaSettings
	rows          []row
	figures       map[string]float64
	sections      []string
}

var sectionNames = []string{"calls", "quota", "conns", "cold", "overhead", "wait", "paper"}

func main() {
	if err := run(); err != nil {
		fail(err)
	}
}

// run reads the flags, builds, measures, prints the table and, with -md,
// writes it; the built binaries are removed whatever happens.
func run() error {
	s := &suite{figures: map[string]float64{}}
	only := flag.String("only", strings.Join(sectionNames, ","), "sections to run: "+strings.Join(sectionNames, ","))
	flag.IntVar(&s.runs, "runs", 3, "runs of each measure; the table shows the median")
	flag.Float64Var(&s.quota.q, "quota", 100, "Q: calls per second the emulator allows each API (the quota runs)")
	flag.IntVar(&s.quota.intents, "quota-intents", 2000, "modify intents in the quota runs")
	flag.IntVar(&s.quota.batches, "quota-batches", 20, "batches (invocations) they come in")
	flag.IntVar(&s.quota.instances, "quota-instances", 4, "function instances sharing the quota in the shared run")
	flag.IntVar(&s.batchMessages, "batch-messages", 1000, "messages in the batch whose connections and peak RSS are measured")
	md := flag.String("md", "", "also write the table into this file's generated section (BENCHMARKS.md)")
	flag.Parse()
	s.sections = strings.Split(*only, ",")
	for _, name := range s.sections {
		if !slices.Contains(sectionNames, name) {
			return fmt.Errorf("-only: unknown section %q (have %s)", name, strings.Join(sectionNames, ","))
		}
	}
	if s.runs < 1 || s.batchMessages < 1 || s.quota.q <= 0 || s.quota.intents < 1 || s.quota.batches < 1 || s.quota.instances < 1 {
		return fmt.Errorf("-runs, -batch-messages, -quota, -quota-intents, -quota-batches and -quota-instances must be positive")
	}
	start := time.Now()
	err := s.build()
	if s.binary != "" {
		defer os.RemoveAll(filepath.Dir(s.binary))
	}
	if err != nil {
		return err
	}
	if err := s.measure(); err != nil {
		return err
	}
	header := fmt.Sprintf("%s, %s/%s, %d CPUs, %s; runs %d (medians), -quota %g; sections %s; took %v",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(),
		s.runs, s.quota.q, strings.Join(s.sections, ","), time.Since(start).Round(time.Second))
	sortRows(s.rows)
	fmt.Println(header)
	fmt.Println()
	printTable(os.Stdout, s.rows)
	if *md != "" {
		return writeMarkdown(*md, "Measured "+header+":\n\n"+markdown(s.rows))
	}
	return nil
}

// measure runs the sections asked for, in order.
func (s *suite) measure() error {
	for _, sec := range []struct {
		name string
		run  func() error
	}{
		{"calls", s.measureCalls}, {"quota", s.measureQuota}, {"conns", s.measureConnections},
		{"cold", s.measureColdStart}, {"overhead", s.measureOverhead}, {"wait", s.measureWaiting}, {"paper", s.onPaper},
	} {
		if !slices.Contains(s.sections, sec.name) {
			continue
		}
		t := time.Now()
		fmt.Fprintf(os.Stderr, "bench: %s ...\n", sec.name)
		if err := sec.run(); err != nil {
			return fmt.Errorf("%s: %w", sec.name, err)
		}
		fmt.Fprintf(os.Stderr, "bench: %s done in %v\n", sec.name, time.Since(t).Round(100*time.Millisecond))
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// build compiles the function as s.yaml's pre-deploy step does (no cgo,
// trimmed paths; for this machine, so it can run here) and the floor.
func (s *suite) build() error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return fmt.Errorf("run from inside the repository (go env GOMOD: %v)", err)
	}
	s.root = filepath.Dir(strings.TrimSpace(string(out)))
	dir, err := os.MkdirTemp("", "bench-")
	if err != nil {
		return err
	}
	s.binary, s.floor = filepath.Join(dir, "main"), filepath.Join(dir, "floor")
	for _, b := range []struct{ out, pkg string }{{s.binary, "./function"}, {s.floor, "./tests/bench/floor"}} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", b.out, b.pkg)
		cmd.Dir = s.root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
		}
	}
	return nil
}
