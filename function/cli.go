package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/invoke"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/report"
)

// runCLI applies (or plans) the intents of a file against a real account with
// the SDK's default credential chain.
func runCLI(ctx context.Context, cmd string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	region := fs.String("region", "", "region of intents that name none (default $FC_REGION, $ALIBABA_CLOUD_REGION_ID or cn-hangzhou)")
	endpoint := fs.String("endpoint", "", "ECS endpoint URL (default $ECS_ENDPOINT, else the regional HTTPS endpoint)")
	output := fs.String("output", "table", "output format: table or json")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: function %s [--region R] [--endpoint URL] [--output table|json] FILE|-\n", cmd)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 || (*output != "table" && *output != "json") {
		fs.Usage()
		return exitUsage
	}
	payload, err := readInput(fs.Arg(0), stdin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	cfg, ok := loadConfig(stderr)
	if !ok {
		return exitUsage
	}
	if *region != "" {
		cfg.Region = *region
	}
	if *endpoint != "" {
		cfg.ECSEndpoint = *endpoint
	}
	h, err := invoke.New(cfg, newLogger(stderr, "warn"))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	h.DryRun = cmd == "plan"
	// The CLI has no invocation to take credentials from: the default chain
	// finds them once, and every call, ECS and MNS, is signed with them.
	// Finding none is a configuration error, told at once.
	creds, err := credential.NewChain().Get()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	rep, err := h.Handle(ctx, invoke.Env{RequestID: "cli", Credentials: &creds}, payload)
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		writeReportTable(stdout, rep)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
	}
	if code := refusedCredentials(rep); code != "" {
		fmt.Fprintf(stderr, "the credentials of AccessKeyId %s were refused (%s): check them; %s\n", creds.AccessKeyID, code, credential.Hint)
		return exitUsage
	}
	return exitCode(rep)
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
		fmt.Fprintf(w, "message %s  action=%s  outcome=%s", m.ID, m.Action, m.Outcome)
		if m.Code != "" {
			fmt.Fprintf(w, "  code=%s", m.Code)
		}
		fmt.Fprintln(w)
		if m.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", m.Error)
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
