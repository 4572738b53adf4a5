package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/fcfake"
)

// ecs is the ECS emulator served in this process on 127.0.0.1, with the two
// things the suite reads from outside the function: every request it
// answered (its log, through probe) and every TCP connection it accepted.
type ecs struct {
	srv   *emulator.Server
	probe *probe
	ln    *testenv.CountingListener
}

func startECS(seed *emulator.Seed) (*ecs, error) {
	p := &probe{}
	srv, err := emulator.New(emulator.Options{Seed: seed, Log: p})
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	cl := &testenv.CountingListener{Listener: l}
	go func() { _ = srv.Serve(cl) }()
	return &ecs{srv: srv, probe: p, ln: cl}, nil
}

// url is known once Serve has taken the listener.
func (e *ecs) url() string {
	for range 100 {
		if u := e.srv.URL(); u != "" {
			return u
		}
		time.Sleep(time.Millisecond)
	}
	return "http://" + e.ln.Addr().String()
}

func (e *ecs) reset() {
	e.srv.ResetCalls()
	e.probe.reset()
	e.ln.Reset()
}

func (e *ecs) close() { _ = e.srv.Close() }

// limitEachAPI gives every action of the emulator its own token bucket of q
// calls per second (burst q), answering 400 Throttling.User past it: ECS's
// quota is per API, and shared by every client of the account.
func (e *ecs) limitEachAPI(q float64) {
	for _, action := range []string{"DescribeImages", "ModifyImageAttribute", "DescribeImageFromFamily",
		"DescribeImageSharePermission", "ModifyImageSharePermission", "DescribeInstances"} {
		e.srv.SetFaults(action, emulator.Faults{RateLimit: q})
	}
}

// fleet is n instances of the compiled function under FC's go1 runtime,
// polling one runtime API fake: an invocation goes to whichever instance is
// free, one at a time each, as FC does.
type fleet struct {
	fc    *fcfake.Server
	procs []*fcfake.Process
	cmds  []*exec.Cmd
}

// startFleet runs n instances of binary with the environment FC gives a go1
// instance plus env.
func startFleet(binary string, n int, env ...string) (*fleet, error) {
	fc, err := fcfake.Start()
	if err != nil {
		return nil, err
	}
	f := &fleet{fc: fc}
	for range n {
		cmd := exec.Command(binary)
		cmd.Env = append(fc.InstanceEnv(), env...)
		p, err := fcfake.StartCommand(cmd)
		if err != nil {
			f.close()
			return nil, err
		}
		f.procs, f.cmds = append(f.procs, p), append(f.cmds, cmd)
	}
	return f, nil
}

// close stops the instances, then the runtime API (a running SDK would poll
// a closed port in a tight loop).
func (f *fleet) close() {
	for _, p := range f.procs {
		_ = p.Stop()
	}
	_ = f.fc.Close()
}

// invocation is what one invocation came back with.
type invocation struct {
	counts map[report.Outcome]int // from the report; nil when the invocation failed
	failed int                    // messages that could not be settled
	took   time.Duration
	body   []byte // what the function answered
}

// failedRE reads invoke.FailedError's message, all the go1 runtime passes on.
var failedRE = regexp.MustCompile(`(\d+) of (\d+) messages could not be settled`)

// invoke sends one payload as FC would, with the invocation's credentials
// and the function's timeout.
func (f *fleet) invoke(payload []byte, timeout time.Duration) (invocation, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := f.fc.Invoke(ctx, fcfake.Invocation{Payload: payload, Timeout: timeout,
		Headers: fcfake.CredentialHeaders(emulator.DefaultKey, emulator.DefaultKey, "")})
	inv := invocation{took: time.Since(start), body: res.Body}
	if err != nil {
		return inv, fmt.Errorf("%w\n%s", err, f.output())
	}
	if res.IsError {
		m := failedRE.FindStringSubmatch(res.ErrorMessage)
		if m == nil {
			return inv, fmt.Errorf("invocation error %s: %.300s", res.ErrorType, res.ErrorMessage)
		}
		inv.failed, _ = strconv.Atoi(m[1])
		return inv, nil
	}
	var rep report.Report
	if err := json.Unmarshal(res.Body, &rep); err != nil {
		return inv, fmt.Errorf("report: %w: %.300s", err, res.Body)
	}
	inv.counts = rep.Counts
	return inv, nil
}

// output is the tail of what the instances wrote, for an error message.
func (f *fleet) output() string {
	var b strings.Builder
	for _, p := range f.procs {
		out := p.Output()
		b.WriteString(out[max(0, len(out)-2000):])
	}
	return b.String()
}

// mnsBatch is the payload of FC's MNS queue trigger in event-streaming
// mode (an array of CloudEvents), carrying one intent per message.
func mnsBatch(intents []string) []byte {
	type data struct {
		RequestID   string `json:"requestId"`
		MessageID   string `json:"messageId"`
		MessageBody string `json:"messageBody"`
	}
	type event struct {
		ID          string `json:"id"`
		Source      string `json:"source"`
		SpecVersion string `json:"specversion"`
		Type        string `json:"type"`
		Data        data   `json:"data"`
	}
	events := make([]event, len(intents))
	for i, body := range intents {
		id := fmt.Sprintf("%032X", i+1)
		events[i] = event{ID: "ce-" + id, Source: "MNS-bench", SpecVersion: "1.0", Type: "mns:Queue:SendMessage",
			Data: data{RequestID: "bench", MessageID: id, MessageBody: body}}
	}
	b, err := json.Marshal(events)
	if err != nil {
		panic(err) // plain strings always encode
	}
	return b
}

// family is n images of one family, oldest first, an hour apart, all in
// status; ids are m-<prefix><i>.
func family(name, prefix string, n int, status string) []emulator.SeedImage {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]emulator.SeedImage, n)
	for i := range out {
		out[i] = emulator.SeedImage{Image: ecsapi.Image{
			ImageID: fmt.Sprintf("m-%s%05d", prefix, i), Name: fmt.Sprintf("%s-%05d", name, i), Family: name,
			Description: "generated", Status: status, CreationTime: base.Add(time.Duration(i) * time.Hour),
			BootMode: "UEFI", NvmeSupport: "supported", ImdsSupport: "v2",
		}}
	}
	return out
}

// instanceEnv is the configuration the suite runs the function with: the
// emulator as ECS, and whatever a scenario adds (later entries win).
func instanceEnv(endpoint string, extra ...string) []string {
	return append([]string{"ECS_ENDPOINT=" + endpoint}, extra...)
}
