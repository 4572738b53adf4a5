package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/fcfake"
	"github.com/ecs-image-lifecycle/image-lifecycle/tests/mnsfake"
)

// The role's STS credentials, which FC passes with every invocation; ECS and
// MNS accept only them.
const (
	keyID     = "STS.chaos"
	keySecret = "chaos-secret-Vb6yN1"
	stsToken  = "chaos-sts-token-Jq8sD3"
)

const (
	retryQueue      = "image-intents" // RETRY_QUEUE is the trigger's own queue, as in production
	deadLetterQueue = "image-intents-dlq"
	familyFloor     = 1
	// functionTimeout is the function timeout of every invocation. Short on
	// purpose: the function keeps 3 s to settle, its retries 3 s more and a
	// promote 5 s before it would wait for a Creating image, so a promote
	// defers at once instead of sleeping, and an answer slower than the
	// client waits costs at most the 4 s an attempt may take.
	functionTimeout = 10 * time.Second
	// longTimeout is the function timeout of every eighth invocation: long
	// enough for a promote to wait for its build inside the invocation (a
	// build at 90% is read again every 3 s), as it does in production.
	longTimeout = 25 * time.Second
	// buildTime: every build is Creating for the first 10 s of the run, when
	// its first promote is published, so that promote waits for it (in a long
	// invocation) or is deferred (in a short one) before it applies. A
	// build's end is set by the clock, not by calls: the rotates' family
	// reads would otherwise finish builds before their promotes arrive.
	buildTime = 10 * time.Second
)

// slowDelay is longer than the ECS client's 10 s read timeout: a slow
// answer is never waited for.
const slowDelay = 12 * time.Second

// faults are the emulator's random faults on every action. With the bursts
// (see burst) about a fifth of all calls fail.
func faults(seed uint64) emulator.Faults {
	return emulator.Faults{
		Unavailable: 0.06, Internal: 0.04, BadGateway: 0.03, Reset: 0.03, Slow: 0.002, SlowDelay: slowDelay,
		RandSeed: int64(seed),
	}
}

// report is the part of the function's report (README, "Outcomes and the
// report") the test reads.
type report struct {
	Received int            `json:"received"`
	Counts   map[string]int `json:"counts"`
	Messages []struct {
		ID           string `json:"id"`
		IntentID     string `json:"intentId"`
		Attempt      int    `json:"attempt"`
		Action       string `json:"action"`
		Outcome      string `json:"outcome"`
		Code         string `json:"code"`
		Error        string `json:"error"`
		DeferredTo   string `json:"deferredMessageId"`
		DeadLetterID string `json:"deadLetterMessageId"`
	} `json:"messages"`
}

// TestChaos: see the package documentation.
func TestChaos(t *testing.T) {
	seed, n := *flagSeed, *flagMessages
	t.Logf("seed %d, %d messages; replay with: go test ./tests/chaos -run TestChaos -v -chaos.seed=%d -chaos.messages=%d", seed, n, seed, n)
	began := time.Now()

	sc := generate(seed, n)
	want, err := checkOrderFree(sc, familyFloor, time.Now(), seed)
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, sc, seed)
	r.deliverAll()
	r.check(want)
	r.table(time.Since(began))
}

// run is one chaos run: the fakes, the function and what was seen.
type run struct {
	t     *testing.T
	sc    *scenario
	emu   *emulator.Server
	mns   *mnsfake.Server
	fc    *fcfake.Server
	proc  *fcfake.Process
	tr    *trigger
	rng   *rand.Rand
	calls *answers
	floor *floorWatch

	outage struct{ from, length int } // ticks when both queues are down (see queuesDown)

	origin      map[string]string   // MNS message id -> the published message it carries on
	settled     map[string]bool     // MNS message ids a successful invocation settled
	endings     map[string][]string // published id -> outcomes other than deferred
	deferredTo  map[string]string   // retry message id a report named -> the message deferred
	retrySeen   map[string]bool     // retry queue messages picked up
	letters     map[string]string   // published id -> dead letter code
	lettersSeen int
	problems    []string        // what broke the accounting, reported at the end
	answers     strings.Builder // every invocation's answer, for the secret scan

	invocations, failedInvocations, redeliveries, deliveries int
	outageInvocations, outageFailures                        int
	outcomes, deferralCodes                                  map[string]int
	// creating counts the outcomes of promotes delivered while their build
	// was still Creating: deferred, or applied after waiting for it.
	creating map[string]int
	intents  map[string]intentBody // published id -> its intent
}

func start(t *testing.T, sc *scenario, seed uint64) *run {
	t.Helper()
	r := &run{t: t, sc: sc, tr: newTrigger(seed), rng: rand.New(rand.NewPCG(seed, 0xfa17)),
		calls: newAnswers(), floor: &floorWatch{floor: familyFloor},
		origin: map[string]string{}, settled: map[string]bool{}, endings: map[string][]string{},
		deferredTo: map[string]string{}, retrySeen: map[string]bool{}, letters: map[string]string{},
		outcomes: map[string]int{}, deferralCodes: map[string]int{}, creating: map[string]int{}, intents: map[string]intentBody{}}
	for _, m := range sc.messages {
		r.intents[m.id] = m.intent
	}

	emu, err := emulator.Start(emulator.Options{
		Seed: sc.seed, Keys: map[string]string{keyID: keySecret}, SecurityToken: stsToken,
		CreatingFor: buildTime, Log: r.calls, AfterWrite: r.floor.afterWrite,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	emu.SetFaults("", faults(seed))
	r.emu = emu

	mns, err := mnsfake.Start(mnsfake.Options{Keys: map[string]string{keyID: keySecret}, Tokens: map[string]string{keyID: stsToken}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mns.Close() })
	mns.CreateQueue(retryQueue)
	mns.CreateQueue(deadLetterQueue)
	r.mns = mns

	fc, err := fcfake.Start()
	if err != nil {
		t.Fatal(err)
	}
	proc, err := fc.StartProcess(binary,
		"ECS_ENDPOINT="+emu.URL(),
		"MNS_ENDPOINT="+mns.Endpoint(),
		"RETRY_QUEUE="+retryQueue,
		"DEAD_LETTER_QUEUE="+deadLetterQueue,
		fmt.Sprintf("FAMILY_FLOOR=%d", familyFloor),
		"ECS_RATE_LIMIT=200", // the emulator, not a client-side limit, decides when to throttle here
		"LOG_LEVEL=debug",    // every line the function can write, for the secret scan
	)
	if err != nil {
		_ = fc.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Stop before Close: the SDK polls a closed port in a tight loop.
		if err := proc.Stop(); err != nil {
			t.Errorf("the function: %v", err)
		}
		_ = fc.Close()
		if t.Failed() {
			out := proc.Output()
			t.Logf("the function's last output:\n%s", out[max(0, len(out)-20000):])
		}
	})
	r.fc, r.proc = fc, proc

	for _, m := range sc.messages {
		r.origin[m.id] = m.id
		r.tr.publish(delivery{id: m.id, body: m.body, base64: m.base64}, 0)
	}
	// One outage of both queues, a third of the way in, for a tenth of the
	// run (about 5.5 messages per invocation).
	expected := len(sc.messages) / 5
	r.outage.from, r.outage.length = expected/3, max(5, expected/10)
	return r
}

// queuesDown says whether the MNS outage is on. It begins with the ECS
// region in trouble too (a run of 503s long enough to make some message
// defer, which it cannot while MNS is down), and it lasts its length, or
// longer, up to four times that, until it has failed two invocations: an
// outage nobody noticed would test nothing.
func (r *run) queuesDown() bool {
	tick, o := r.tr.tick, r.outage
	if tick == o.from {
		burst := make([]string, 25)
		for i := range burst {
			burst[i] = "ServiceUnavailable"
		}
		r.emu.SetFaults("DescribeImages", emulator.Faults{FailNext: burst})
	}
	return tick >= o.from && (tick < o.from+o.length || (r.outageFailures < 2 && tick < o.from+4*o.length))
}

// deliverAll delivers until every message, deferral and redelivery settled.
func (r *run) deliverAll() {
	t := r.t
	limit := 10*len(r.sc.messages) + 100 // invocations; a healthy run needs about a third of this
	for {
		b, ok := r.tr.next()
		if !ok {
			return
		}
		if r.invocations == limit {
			t.Fatalf("still delivering after %d invocations: %d messages visible, %d delayed ticks, %d failed batches pending",
				limit, len(r.tr.ready), len(r.tr.visibleAt), len(r.tr.failed))
		}
		r.burst()
		down := r.queuesDown()
		r.mns.SetDown(retryQueue, down)
		r.mns.SetDown(deadLetterQueue, down)

		timeout := functionTimeout
		if r.tr.tick%8 == 5 {
			timeout = longTimeout
		}
		creating := r.buildsCreating(b)
		res := r.invoke(b.payload, timeout)
		r.invocations++
		r.deliveries += len(b.deliveries)
		if b.again {
			r.redeliveries++
		}
		if down {
			r.outageInvocations++
		}
		if res.IsError {
			r.failedInvocations++
			if down {
				r.outageFailures++
			}
			if !strings.Contains(res.ErrorMessage, "could not be settled") {
				r.problem("invocation %s failed with %s: %s", res.RequestID, res.ErrorType, res.ErrorMessage)
			}
			r.tr.deliverAgain(b)
		} else {
			r.account(b, res, creating)
		}
		r.collect()
		r.tr.tick++
	}
}

// burst queues faults on one API before the next invocation: throttling
// before a quarter of them (it comes in bursts, not as independent dice), and
// every 40 invocations an answer slower than the client waits, which the
// dice alone (see faults) might not roll in a short run.
func (r *run) burst() {
	action := []string{"DescribeImages", "ModifyImageAttribute"}[r.rng.IntN(2)]
	if r.tr.tick%40 == 2 {
		r.emu.SetFaults(action, emulator.Faults{FailNext: []string{emulator.FaultSlow}, SlowDelay: slowDelay})
		return
	}
	if r.rng.IntN(4) > 0 {
		return
	}
	codes := []string{"Throttling", "Throttling.User", "Throttling.Api"}
	var burst []string
	for range 1 + r.rng.IntN(2) {
		burst = append(burst, codes[r.rng.IntN(len(codes))])
	}
	r.emu.SetFaults(action, emulator.Faults{FailNext: burst})
}

func (r *run) invoke(payload []byte, timeout time.Duration) fcfake.Result {
	t := r.t
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	go func() { // a process that exits cannot answer: do not wait for the timeout
		select {
		case <-r.proc.Exited():
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := r.fc.Invoke(ctx, fcfake.Invocation{Payload: payload, Timeout: timeout,
		Headers: fcfake.CredentialHeaders(keyID, keySecret, stsToken)})
	if err != nil {
		t.Fatalf("invocation %d: %v (the function exited: %v)", r.invocations+1, err, r.proc.Err())
	}
	r.answers.Write(res.Body)
	return res
}

// checkNoSecret scans every byte the function wrote or sent, at debug level:
// its output, every answer (report or error), every message it left in the
// queues. The invocation's AccessKeySecret and SecurityToken must be in none,
// in any form.
func (r *run) checkNoSecret() {
	var queued strings.Builder
	for _, q := range []string{retryQueue, deadLetterQueue} {
		for _, m := range r.mns.Messages(q) {
			queued.WriteString(m.Body)
		}
	}
	out := r.proc.Output()
	if !strings.Contains(out, `"msg":"image change failed"`) {
		// The function logs no debug lines of its own today; what a leak
		// would ride in is the failures' text, which faults make plenty of.
		r.t.Errorf("the output has no failed image change: the secret scan proves little")
	}
	for what, text := range map[string]string{"the output": out, "the answers": r.answers.String(), "the queues": queued.String()} {
		for _, secret := range []string{keySecret, stsToken} {
			for form, v := range testenv.SecretForms(secret) {
				if strings.Contains(text, v) {
					r.t.Errorf("%s hold the %s credential %q", what, form, v)
				}
			}
		}
	}
}

// buildsCreating returns the deliveries of b that promote a build the
// emulator still shows Creating (a look that does not count as a call).
func (r *run) buildsCreating(b batch) map[string]bool {
	out := map[string]bool{}
	for _, d := range b.deliveries {
		in := r.intents[r.origin[d.id]]
		if in.Action != "promote" || in.DryRun {
			continue
		}
		if img, ok := r.emu.Image(in.ImageID); ok && img.Status == ecsapi.StatusCreating {
			out[d.id] = true
		}
	}
	return out
}

// account checks one successful invocation's report against its batch and
// records each message's outcome.
func (r *run) account(b batch, res fcfake.Result, creating map[string]bool) {
	var rep report
	if err := json.Unmarshal(res.Body, &rep); err != nil {
		r.problem("invocation %s: the answer is not a report: %v: %.300s", res.RequestID, err, res.Body)
		return
	}
	sum := 0
	for _, c := range rep.Counts {
		sum += c
	}
	if rep.Received != len(b.deliveries) || sum != rep.Received || len(rep.Messages) != rep.Received {
		r.problem("invocation %s: %d messages delivered, report received %d, counts sum to %d, %d messages listed",
			res.RequestID, len(b.deliveries), rep.Received, sum, len(rep.Messages))
	}
	delivered := map[string]int{}
	for _, d := range b.deliveries {
		delivered[d.id]++
	}
	for _, m := range rep.Messages {
		delivered[m.ID]--
		r.outcomes[m.Outcome]++
		if creating[m.ID] {
			r.creating[m.Outcome]++
		}
		origin, known := r.origin[m.ID]
		if !known {
			r.problem("invocation %s reports message %s, which was never delivered", res.RequestID, m.ID)
			continue
		}
		switch m.Outcome {
		case "failed", "rejected":
			// failed must fail the invocation; rejected means no DLQ, and there is one.
			r.problem("invocation %s succeeded, but message %s (%s) ended %s: %s %s", res.RequestID, m.ID, origin, m.Outcome, m.Code, m.Error)
			continue
		case "deferred":
			r.deferredTo[m.DeferredTo] = origin
		default:
			r.endings[origin] = append(r.endings[origin], m.Outcome)
		}
		r.settled[m.ID] = true
	}
	for id, n := range delivered {
		if n != 0 {
			r.problem("invocation %s: message %s delivered and reported a different number of times (%+d)", res.RequestID, id, n)
		}
	}
}

// collect picks up what the function sent to the queues since the last look:
// deferred messages become deliveries, as the trigger would receive them.
func (r *run) collect() {
	for _, m := range r.mns.Messages(retryQueue) {
		if r.retrySeen[m.ID] {
			continue
		}
		r.retrySeen[m.ID] = true
		var body struct {
			Retry struct {
				MessageID string `json:"messageId"`
				LastError string `json:"lastError"`
			} `json:"retry"`
		}
		if err := json.Unmarshal([]byte(m.Body), &body); err != nil {
			r.problem("retry message %s is not an intent: %v: %.300s", m.ID, err, m.Body)
			continue
		}
		origin, ok := r.origin[body.Retry.MessageID]
		if !ok {
			r.problem("retry message %s stands for message %q, which was never delivered", m.ID, body.Retry.MessageID)
			continue
		}
		r.origin[m.ID] = origin
		r.deferralCodes[body.Retry.LastError]++
		r.tr.publish(delivery{id: m.ID, body: m.Body}, m.DelaySeconds)
	}
	letters := r.mns.Messages(deadLetterQueue)
	for _, m := range letters[r.lettersSeen:] {
		var l struct {
			MessageID string `json:"messageId"`
			Code      string `json:"code"`
		}
		if err := json.Unmarshal([]byte(m.Body), &l); err != nil {
			r.problem("dead letter %s is not JSON: %v", m.ID, err)
			continue
		}
		origin, ok := r.origin[l.MessageID]
		if !ok {
			r.problem("dead letter %s names message %q, which was never delivered", m.ID, l.MessageID)
			continue
		}
		r.letters[origin] = l.Code
	}
	r.lettersSeen = len(letters)
}

func (r *run) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// lost counts the messages that never reached an end: published messages
// with no outcome but deferred, deferrals nobody delivered or settled.
func (r *run) lost() (n int, which []string) {
	for _, m := range r.sc.messages {
		if len(r.endings[m.id]) == 0 {
			which = append(which, "published "+m.id+" ("+m.intent.ID+") never ended")
		}
	}
	for id, origin := range r.deferredTo {
		if !r.retrySeen[id] {
			which = append(which, fmt.Sprintf("%s was deferred to %s, which is not in the retry queue", origin, id))
		}
	}
	for id := range r.retrySeen {
		if !r.settled[id] {
			which = append(which, fmt.Sprintf("retry message %s (for %s) was never settled", id, r.origin[id]))
		}
	}
	slices.Sort(which)
	return len(which), which
}

// check compares the end with the oracle and the accounting rules.
func (r *run) check(want map[string]oimage) {
	t := r.t
	for _, p := range r.problems {
		t.Error(p)
	}
	if n, which := r.lost(); n > 0 {
		t.Errorf("lost = %d, want 0:\n%s", n, strings.Join(which[:min(len(which), 20)], "\n"))
	}
	// Each message ended as its intent says it must, and only so.
	o := newOracle(r.sc.seed, familyFloor, time.Now())
	for _, m := range r.sc.messages {
		ends := r.endings[m.id]
		if len(ends) == 0 {
			continue // counted as lost
		}
		exp := o.expectation(m.intent)
		for _, e := range ends {
			ok := e == exp || (exp == "settled" && (e == "applied" || e == "unchanged"))
			if !ok {
				t.Errorf("message %s (%s, %s) ended %s, want %s; its outcomes: %v", m.id, m.intent.ID, m.body, e, exp, ends)
				break
			}
		}
		if exp == "dead-lettered" && r.letters[m.id] == "" {
			t.Errorf("message %s (%s) was dead-lettered, but the dead-letter queue does not hold it", m.id, m.intent.ID)
		}
	}
	r.checkNoSecret()
	// No write took a family below its floor.
	_, violations := r.floor.counts()
	for _, v := range violations {
		t.Errorf("floor violated: %s", v)
	}
	// No panic, and still running.
	if err := r.proc.Err(); err != nil {
		t.Errorf("the function exited: %v", err)
	}
	for line := range strings.SplitSeq(r.proc.Output(), "\n") {
		if strings.Contains(strings.ToLower(line), "panic") {
			t.Errorf("the function's output mentions a panic: %.500s", line)
			break
		}
	}
	// Every image as the oracle says.
	mismatches := 0
	for _, img := range r.emu.State().Images {
		w, ok := want[img.ImageID]
		got := oimage{id: img.ImageID, family: img.Family, status: img.Status, created: img.CreationTime,
			name: img.Name, description: img.Description, bootMode: img.BootMode, license: img.LicenseType,
			nvme: img.NvmeSupport, imdsMode: img.ImdsSupport,
			excluded: img.Tags["lifecycle:keep"] == "true", shared: len(img.SharedWith) > 0}
		if !ok || got != w {
			mismatches++
			if mismatches <= 20 {
				t.Errorf("image %s:\n got %v\nwant %v\nintents naming it or its family: %s", img.ImageID, got, w, r.intentsAbout(img.Image))
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d images differ from the oracle", mismatches, len(want))
	}
	// The chaos must have bitten: a run without faults would prove nothing.
	calls, kinds := r.calls.snapshot()
	injected := 0
	for _, k := range faultKinds {
		if kinds[k] == 0 {
			t.Errorf("no %s was injected", k)
		}
		injected += kinds[k]
	}
	if calls == 0 || float64(injected)/float64(calls) < 0.10 {
		t.Errorf("%d faults in %d calls: the chaos is too mild to mean anything", injected, calls)
	}
	if r.outageFailures == 0 || r.redeliveries == 0 || r.tr.duplicates == 0 || len(r.creating) == 0 {
		t.Errorf("missing chaos: %d failed invocations in the outage, %d redeliveries, %d duplicates, promotes of Creating builds %v",
			r.outageFailures, r.redeliveries, r.tr.duplicates, r.creating)
	}
}

// intentsAbout lists the intents that name an image or its family, for a
// failure message.
func (r *run) intentsAbout(img ecsapi.Image) string {
	var out []string
	for _, m := range r.sc.messages {
		in := m.intent
		if in.ImageID == img.ImageID || (in.ImageFamily != "" && in.ImageFamily == img.Family) {
			out = append(out, in.ID+" "+m.body)
		}
	}
	return fmt.Sprintf("%d\n  %s", len(out), strings.Join(out[:min(len(out), 15)], "\n  "))
}

// table logs the run's figures.
func (r *run) table(wall time.Duration) {
	calls, kinds := r.calls.snapshot()
	writes, violations := r.floor.counts()
	lost, _ := r.lost()
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', tabwriter.AlignRight)
	row := func(name string, v any) { fmt.Fprintf(tw, "%s\t%v\t\n", name, v) }
	pct := func(n int) string { return fmt.Sprintf("%d (%.1f%%)", n, 100*float64(n)/float64(max(calls, 1))) }
	fmt.Fprintf(tw, "\t\t\n")
	row("messages published", len(r.sc.messages))
	row("families / images", fmt.Sprintf("%d / %d", len(r.sc.families), len(r.sc.seed.Images)))
	row("invocations", r.invocations)
	row("  failed (batch delivered again)", r.failedInvocations)
	row("  redeliveries of failed batches", r.redeliveries)
	row("  during the MNS outage (failed)", fmt.Sprintf("%d (%d)", r.outageInvocations, r.outageFailures))
	row("deliveries", r.deliveries)
	row("  duplicates", r.tr.duplicates)
	row("  promotes of a build still Creating", fmt.Sprintf("%d deferred, %d waited and applied",
		r.creating["deferred"], r.creating["applied"]+r.creating["unchanged"]))
	row("deferrals (retry queue)", len(r.retrySeen))
	for _, code := range slices.Sorted(maps.Keys(r.deferralCodes)) {
		row("  "+code, r.deferralCodes[code])
	}
	row("dead letters", r.lettersSeen)
	for _, o := range []string{"applied", "unchanged", "planned", "deferred", "dead-lettered", "rejected", "failed"} {
		row("outcome "+o, r.outcomes[o])
	}
	row("ECS calls", calls)
	injected := 0
	for _, k := range faultKinds {
		injected += kinds[k]
	}
	row("  faults injected", pct(injected))
	for _, k := range faultKinds {
		row("    "+k, pct(kinds[k]))
	}
	row("  answered ok", pct(kinds["ok"]))
	row("  API errors", pct(calls-injected-kinds["ok"]))
	row("writes (ModifyImageAttribute 200)", writes)
	row("floor violations", len(violations))
	row("lost", lost)
	row("wall time", wall.Round(time.Second))
	_ = tw.Flush()
	r.t.Logf("chaos run, seed %d:\n%s", *flagSeed, b.String())
}
