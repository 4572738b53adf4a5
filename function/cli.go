package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/lifecycle"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

var (
	applyCommand = command{name: "apply", synopsis: "[flags] FILE|-",
		about: "Applies the intents in FILE (or stdin for -) to your account, with the SDK's default credential\n" +
			"chain. FILE is JSON in any payload shape: one intent, an array of them, an MNS or EventBridge\n" +
			"event, a timer event. Prints each message's outcome and plan. Exit 0: every message applied,\n" +
			"unchanged or planned; 1: some message was not; 2: usage or configuration error."}
	planCommand = command{name: "plan", synopsis: "[flags] FILE|-",
		about: "Prints what apply would change, and why, and changes nothing (every intent is a dry run).\n" +
			"FILE is JSON in any payload shape, or - for stdin."}
)

// runCLI applies (or plans) the intents of a file against a real account with
// the SDK's default credential chain.
func runCLI(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a, code, ok := parseCLI(cmd, args, stdout, stderr)
	if !ok {
		return code
	}
	payload, err := readInput(a.file, stdin)
	if err != nil {
		return usageError(stderr, a.cmd, "%v", err)
	}
	if err := checkJSON(payload); err != nil {
		return usageError(stderr, a.cmd, "%s is not JSON (%v); FILE holds intents as JSON, in any payload shape", inputName(a.file), err)
	}
	cfg, ok := loadConfig(stderr, flagVar{"region", "FC_REGION", &a.region}, flagVar{"endpoint", "ECS_ENDPOINT", &a.endpoint})
	if !ok {
		return exitUsage
	}
	h, err := newHandler(cfg, cliLogger(stderr, a.verbose))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	h.DryRun = cmd == "plan"
	h.MaxCreatingWait = a.maxWait
	h.OnCreatingWait = waitProgress(stderr, a.maxWait)
	// The CLI has no invocation to take credentials from: the default chain
	// finds them once, and every call, ECS and MNS, is signed with them.
	// Finding none is a configuration error, told at once.
	creds, err := credential.NewChain().Get()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	rep, err := h.Handle(ctx, invoke.Env{RequestID: "cli", Credentials: &creds}, payload)
	writeReport(stdout, a.output, rep)
	if err != nil {
		fmt.Fprintln(stderr, err)
	}
	if code := refusedCredentials(rep); code != "" {
		fmt.Fprintf(stderr, "the credentials of AccessKeyId %s were refused (%s): check them; %s\n", creds.AccessKeyID, code, credential.Hint)
		return exitUsage
	}
	return exitCode(rep)
}

// cliArgs is the command line of apply and plan.
type cliArgs struct {
	cmd              command
	file             string // FILE, or - for stdin
	region, endpoint string // "" when not given
	output           string // table or json
	maxWait          time.Duration
	verbose          bool
}

// parseCLI reads the command line of apply or plan; when it is not ok, the
// exit code is returned and what was wrong was said.
func parseCLI(cmd string, args []string, stdout, stderr io.Writer) (a cliArgs, code int, ok bool) {
	a.cmd = applyCommand
	if cmd == "plan" {
		a.cmd = planCommand
	}
	fs := newFlags(a.cmd, stderr)
	fs.StringVar(&a.region, "region", "", "region of intents that name none (default $FC_REGION, $ALIBABA_CLOUD_REGION_ID or cn-hangzhou)")
	fs.StringVar(&a.endpoint, "endpoint", "", "ECS endpoint URL (default $ECS_ENDPOINT, else the regional HTTPS endpoint)")
	output := newChoice("table", "table", "json")
	fs.Var(output, "output", "output format: `table|json`")
	fs.DurationVar(&a.maxWait, "max-wait", 10*time.Minute, "how long a promote waits for an image still Creating before the message fails")
	fs.BoolVar(&a.verbose, "verbose", false, "also write the JSON log lines to stderr (as setting LOG_LEVEL does)")
	pos, code, ok := parse(a.cmd, fs, args, stdout, stderr)
	switch {
	case !ok:
		return a, code, false
	case len(pos) == 0:
		return a, usageError(stderr, a.cmd, "missing FILE (a JSON file of intents, or - for stdin)"), false
	case len(pos) > 1:
		return a, usageError(stderr, a.cmd, "expected one FILE, got %d: %s", len(pos), strings.Join(pos, " ")), false
	case a.maxWait <= 0:
		return a, usageError(stderr, a.cmd, "--max-wait must be a positive duration such as 90s or 15m, not %v", a.maxWait), false
	}
	a.file, a.output = pos[0], output.value
	return a, 0, true
}

// writeReport prints the report as a table or as indented JSON.
func writeReport(stdout io.Writer, output string, rep *report.Report) {
	if output != "json" {
		writeReportTable(stdout, rep)
		return
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

// cliLogger keeps stderr for what the table does not show: the log lines
// repeat it, so they are written only when asked for (--verbose, LOG_LEVEL).
func cliLogger(stderr io.Writer, verbose bool) *slog.Logger {
	switch level := os.Getenv("LOG_LEVEL"); {
	case verbose:
		return newLogger(stderr, "debug")
	case level != "":
		return newLogger(stderr, level)
	}
	return slog.New(slog.DiscardHandler)
}

// waitProgress prints, on stderr, each check of an image a promote waits
// for. Messages are worked concurrently, hence the lock.
func waitProgress(w io.Writer, maxWait time.Duration) func(lifecycle.CreatingWait) {
	var mu sync.Mutex
	return func(cw lifecycle.CreatingWait) {
		mu.Lock()
		defer mu.Unlock()
		if cw.GivingUp {
			fmt.Fprintf(w, "image %s is still %s %d%%: giving up (--max-wait %v); the message fails, run it again later or raise --max-wait\n",
				cw.ImageID, cw.Status, cw.Progress, maxWait)
			return
		}
		fmt.Fprintf(w, "waiting for %s: %s %d%%, next check in %v, gives up at %s (in %v)\n", cw.ImageID, cw.Status, cw.Progress,
			cw.Next.Round(time.Second), cw.GiveUpAt.Format("15:04:05"), time.Until(cw.GiveUpAt).Round(time.Second))
	}
}

// checkJSON says where a payload stops being JSON, by line and column.
func checkJSON(payload []byte) error {
	if len(bytes.TrimSpace(payload)) == 0 {
		return errors.New("it is empty")
	}
	var v json.RawMessage
	err := json.Unmarshal(payload, &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	before := payload[:min(int(se.Offset), len(payload))]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Errorf("line %d, column %d: %v", line, col, se)
}

func inputName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// refusedCredentials returns the credential code of a message that failed
// on it, or "": refused credentials are a configuration error (exit 2).
func refusedCredentials(rep *report.Report) string {
	for _, m := range rep.Messages {
		if m.Outcome == report.Failed && credential.IsCredentialCode(m.Code) {
			return m.Code
		}
	}
	return ""
}

func readInput(name string, stdin io.Reader) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// exitCode is 0 only when every message reached the state it asked for.
func exitCode(rep *report.Report) int {
	for _, m := range rep.Messages {
		switch m.Outcome {
		case report.Applied, report.Unchanged, report.Planned:
		default:
			return exitMessages
		}
	}
	return exitOK
}

// writeReportTable prints each message's outcome and plan, then the counts.
func writeReportTable(w io.Writer, rep *report.Report) {
	for _, m := range rep.Messages {
		fmt.Fprintf(w, "message %s", m.ID)
		if m.IntentID != "" && m.IntentID != m.ID {
			fmt.Fprintf(w, "  intent=%s", m.IntentID)
		}
		fmt.Fprintf(w, "  action=%s  outcome=%s", m.Action, m.Outcome)
		if len(m.Held) > 0 {
			fmt.Fprintf(w, "  held=%d", len(m.Held))
		}
		if m.Code != "" {
			fmt.Fprintf(w, "  code=%s", m.Code)
		}
		fmt.Fprintln(w)
		if m.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", m.Error)
		}
		if m.Reason != "" {
			fmt.Fprintf(w, "  reason: %s\n", m.Reason)
		}
		if m.Plan != nil {
			for _, line := range strings.Split(strings.TrimRight(m.Plan.Table(), "\n"), "\n") {
				fmt.Fprintln(w, "  "+line)
			}
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "received\t%d\n", rep.Received)
	for _, o := range report.Outcomes {
		if n := rep.Counts[o]; n > 0 {
			fmt.Fprintf(tw, "%s\t%d\n", o, n)
		}
	}
	_ = tw.Flush()
}
