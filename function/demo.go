package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/policy"
)

// runDemo starts the ECS emulator in-process with a realistic seed, runs every
// sample event of events/ through the real handler and the real SDK, and shows
// the images before and after. No account and no network.
var demoCommand = command{name: "demo", synopsis: "[--seed FILE] [--events DIR] [--policy FILE]",
	about: "Starts the ECS emulator in-process with a realistic seed and runs every sample event through the\n" +
		"real handler and the real SDK, with the lifecycle policy s.yaml ships: the images before and after,\n" +
		"each plan and report, and the ECS calls each event made. No account and no network; run it from the\n" +
		"repository root."}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags(demoCommand, stderr)
	seedPath := fs.String("seed", filepath.Join("events", "seed", "demo.json"), "emulator seed")
	eventsDir := fs.String("events", "events", "directory of sample events (*.json, run in name order)")
	policyFile := fs.String("policy", filepath.Join("deploy", "lifecycle-policy.json"), "lifecycle policy (POLICY_FILE); \"\" for none")
	pos, code, ok := parse(demoCommand, fs, args, stdout, stderr)
	switch {
	case !ok:
		return code
	case len(pos) > 0:
		return usageError(stderr, demoCommand, "demo takes no arguments, got %q", pos)
	}
	pol, err := policy.Load(func(name string) string { return map[string]string{policy.EnvFile: *policyFile}[name] }, os.ReadFile)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v (run it from the repository root)\n", err)
		return exitUsage
	}
	seed, err := emulator.LoadSeed(*seedPath)
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v (run it from the repository root)\n", err)
		return exitUsage
	}
	samples, err := filepath.Glob(filepath.Join(*eventsDir, "*.json"))
	if err != nil || len(samples) == 0 {
		fmt.Fprintf(stderr, "demo: no sample events in %s (run it from the repository root)\n", *eventsDir)
		return exitUsage
	}
	sort.Strings(samples)

	emu, err := emulator.Start(emulator.Options{Seed: seed, CreatingCalls: demoCreatingCalls})
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return exitUsage
	}
	defer emu.Close()
	fmt.Fprintf(stdout, "ECS emulator on %s (keys emulator/emulator), seed %s, policy %s\n\n", emu.URL(), *seedPath, dash(*policyFile))
	// The samples include deliberately bad input, so rejected messages are
	// expected; only a message that could not be settled fails the demo.
	if playDemo(ctx, emu, demoSetup{endpoint: emu.URL(), region: seed.Region, policy: pol}, samples, stdout, stderr) {
		return exitMessages
	}
	return exitOK
}

// demoCreatingCalls lets the seed's Creating image finish after a few calls,
// so the post-build promote shows the wait instead of hanging for minutes.
const demoCreatingCalls = 3

// demoActions are the ECS API actions the emulator serves, in the order the
// demo prints their counts; a test checks they cover every call the client sends.
var demoActions = []string{"DescribeImages", "DescribeImageFromFamily", "DescribeImageSharePermission",
	"DescribeInstances", "ModifyImageAttribute", "ModifyImageSharePermission"}

// playDemo runs each sample through the handler against emu (reached at
// endpoint) and prints the images before and after, each report and the ECS
// calls each event made, by action. It reports whether an invocation failed.
func playDemo(ctx context.Context, emu *emulator.Server, d demoSetup, samples []string, stdout, stderr io.Writer) (failed bool) {
	h := demoHandler(d, stdout, stderr)
	before := emu.Images()
	fmt.Fprintln(stdout, "== images before")
	writeImages(stdout, before, nil)

	for _, path := range samples {
		payload, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(stderr, "demo:", err)
			return true
		}
		fmt.Fprintf(stdout, "\n== %s\n", path)
		callsBefore := callCounts(emu)
		ictx, cancel := context.WithTimeout(ctx, 20*time.Second)
		rep, err := h.Handle(ictx, invoke.Env{RequestID: "demo-" + filepath.Base(path)}, payload)
		cancel()
		writeReportTable(stdout, rep)
		if err != nil {
			fmt.Fprintln(stdout, "invocation error:", err)
			failed = true
		}
		fmt.Fprintln(stdout, describeCalls(callsBefore, callCounts(emu)))
	}
	fmt.Fprintln(stdout, "\n== images after (* = changed)")
	writeImages(stdout, emu.Images(), before)
	return failed
}

// callCounts reads the emulator's counter of every action.
func callCounts(emu *emulator.Server) map[string]int {
	n := make(map[string]int, len(demoActions))
	for _, a := range demoActions {
		n[a] = emu.Calls(a)
	}
	return n
}

// describeCalls says how many calls were made between two readings, in all
// and by action: "(ECS calls for this event: 3: DescribeImages 2, ModifyImageAttribute 1)".
func describeCalls(before, after map[string]int) string {
	total := 0
	var parts []string
	for _, a := range demoActions {
		if d := after[a] - before[a]; d > 0 {
			total += d
			parts = append(parts, fmt.Sprintf("%s %d", a, d))
		}
	}
	if total == 0 {
		return "(ECS calls for this event: 0)"
	}
	return fmt.Sprintf("(ECS calls for this event: %d: %s)", total, strings.Join(parts, ", "))
}

// demoSetup is what the demo's handler is built from: the emulator's
// endpoint, the seed's region and the lifecycle policy (nil for none).
type demoSetup struct {
	endpoint, region string
	policy           *policy.Policy
}

func demoHandler(d demoSetup, stdout, stderr io.Writer) *invoke.Handler {
	cfg := config.Defaults()
	if d.region != "" {
		cfg.Region = d.region
	}
	cfg.ECSEndpoint = d.endpoint
	cfg.Policy = d.policy
	h := handlerFor(cfg, newLogger(stderr, "error"))
	pool := ecsTransport(cfg)
	h.NewAPI = func(*ecsapi.Credentials) (ecsapi.API, error) {
		return ecsapi.New(ecsapi.Config{Region: cfg.Region, Endpoint: d.endpoint, Transport: pool,
			Credentials: &ecsapi.Credentials{AccessKeyID: "emulator", AccessKeySecret: "emulator"}})
	}
	h.Policy.Base, h.Policy.Cap = 50*time.Millisecond, 500*time.Millisecond
	// The emulator finishes a Creating image in a few calls, not minutes.
	h.CreatingBackoff = func(int) time.Duration { return 300 * time.Millisecond }
	// The wait is part of the story: one line per look at the image (each
	// sample is one invocation, worked before the next, so lines do not mix).
	h.OnCreatingWait = func(w lifecycle.CreatingWait) {
		fmt.Fprintf(stdout, "waiting for %s: %s %d%%, next look in %v\n", w.ImageID, w.Status, w.Progress, w.Next)
	}
	return h
}

// writeImages prints one line per image, grouped by family, marking the
// images whose state differs from before.
func writeImages(w io.Writer, images, before []ecsapi.Image) {
	old := map[string]ecsapi.Image{}
	for _, img := range before {
		old[img.ImageID] = img
	}
	sort.SliceStable(images, func(i, j int) bool {
		if images[i].Family != images[j].Family {
			return images[i].Family < images[j].Family
		}
		return images[i].CreationTime.Before(images[j].CreationTime)
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tFAMILY\tIMAGE\tNAME\tSTATUS\tCREATED\tNVME\tIMDS\tBOOT")
	for _, img := range images {
		mark := ""
		if before != nil && !sameImage(old[img.ImageID], img) {
			mark = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", mark, dash(img.Family), img.ImageID, img.Name,
			status(img), img.CreationTime.UTC().Format("2006-01-02"), dash(img.NvmeSupport), dash(img.ImdsSupport), dash(img.BootMode))
	}
	_ = tw.Flush()
}

func sameImage(a, b ecsapi.Image) bool {
	return a.Name == b.Name && a.Family == b.Family && a.Status == b.Status && a.Description == b.Description &&
		a.NvmeSupport == b.NvmeSupport && a.ImdsSupport == b.ImdsSupport && a.BootMode == b.BootMode
}

func status(img ecsapi.Image) string {
	if img.Status == ecsapi.StatusCreating {
		return fmt.Sprintf("%s %d%%", img.Status, img.Progress)
	}
	return img.Status
}

func dash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
