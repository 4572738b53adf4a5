// Command function is the image lifecycle function: one binary, several front
// doors. Under Function Compute's go1 runtime (FC_RUNTIME_API set) it serves
// invocations through fc-runtime-go-sdk; otherwise a subcommand chooses:
//
//	serve                 custom runtime: HTTP on $FC_CUSTOM_LISTEN_PORT (9000), POST /invoke
//	apply FILE|-          apply intents (any payload shape) to a real account
//	plan FILE|-           show what apply would change, and why; changes nothing
//	demo                  run the sample events against the built-in ECS emulator
//	emulator              serve the ECS emulator for other clients
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/config"
	"github.com/ecs-image-lifecycle/image-lifecycle/function/emulator"
)

// Exit codes of the CLI.
const (
	exitOK       = 0 // every message applied, unchanged or planned
	exitMessages = 1 // some message was rejected, dead-lettered, deferred or failed
	exitUsage    = 2 // bad command line or configuration
)

func main() {
	if os.Getenv("FC_RUNTIME_API") != "" && (len(os.Args) < 2 || os.Args[1] == "fc") {
		os.Exit(runFC())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stderr)
	case "apply", "plan":
		return runCLI(ctx, args[0], args[1:], stdin, stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "emulator":
		if err := emulator.Main(ctx, args[1:], stdout); err != nil {
			fmt.Fprintln(stderr, "emulator:", err)
			return exitUsage
		}
		return exitOK
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: function COMMAND [flags]

Commands:
  serve                      custom runtime: HTTP on $FC_CUSTOM_LISTEN_PORT (default 9000), POST /invoke
  apply FILE|-               apply the intents in FILE (any payload shape) to your account
  plan FILE|-                print what apply would change, and why; changes nothing
  demo                       run events/ against the built-in ECS emulator (no account needed)
  emulator                   serve the ECS emulator: --listen 127.0.0.1:PORT --seed FILE

Under Function Compute's go1 runtime (FC_RUNTIME_API set) it serves invocations.
Run "function COMMAND -h" for a command's flags.
`)
}

// newLogger writes JSON lines, the shape FC's log service indexes best.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func loadConfig(stderr io.Writer) (config.Config, bool) {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return cfg, false
	}
	return cfg, true
}
