// Command image-lifecycle (built from ./function) is the image lifecycle
// function: one binary, several front doors. Under Function Compute's go1
// runtime (FC_RUNTIME_API set) it serves invocations through
// fc-runtime-go-sdk; otherwise a subcommand chooses:
//
//	serve                 custom runtime: HTTP on $FC_CUSTOM_LISTEN_PORT (9000), POST /invoke
//	apply FILE|-          apply intents (any payload shape) to a real account
//	plan FILE|-           show what apply would change, and why; changes nothing
//	demo                  run the sample events against the built-in ECS emulator
//	emulator              serve the ECS emulator for other clients
//	version               print the module version and VCS revision
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
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
		return runServe(ctx, args[1:], stdout, stderr)
	case "apply", "plan":
		return runCLI(ctx, args[0], args[1:], stdin, stdout, stderr)
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "emulator":
		return runEmulator(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
}

var emulatorCommand = command{name: "emulator", synopsis: "[--listen 127.0.0.1:PORT] [--seed FILE] [flags]",
	about: "Serves the ECS emulator (DescribeImages, ModifyImageAttribute, ... with signatures, error codes and\n" +
		"faults on demand) for any Alibaba Cloud SDK, until interrupted. Keys: emulator / emulator."}

// runEmulator runs the emulator's own command; only its help is ours, so
// that it reads like every other command's.
func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if wantsHelp(args) {
		var flags bytes.Buffer
		_ = emulator.Main(ctx, []string{"-h"}, &flags) // prints "Usage of emulator:" and the flags
		writeHelp(stdout, emulatorCommand, nil)
		_, defaults, _ := strings.Cut(flags.String(), "\n")
		fmt.Fprintf(stdout, "\nFlags (one or two dashes):\n%s", defaults)
		return exitOK
	}
	if err := emulator.Main(ctx, args, stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	return exitOK
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: image-lifecycle COMMAND [flags]

Commands:
  apply FILE|-     apply the intents in FILE (any payload shape) to your account
  plan FILE|-      print what apply would change, and why; changes nothing
  demo             run events/ against the built-in ECS emulator (no account needed)
  emulator         serve the ECS emulator: --listen 127.0.0.1:PORT --seed FILE
  serve            custom runtime: HTTP on $FC_CUSTOM_LISTEN_PORT (default 9000), POST /invoke
  version          print the module version and VCS revision (also --version)

Under Function Compute's go1 runtime (FC_RUNTIME_API set) it serves invocations.
Run "image-lifecycle COMMAND -h" for a command's help and flags.
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

// loadConfig reads the configuration from the environment, with the value of
// each flag given in place of the variable it stands for, and says on stderr
// what is wrong when something is.
func loadConfig(stderr io.Writer, flags ...flagVar) (config.Config, bool) {
	cfg, err := config.FromEnv(func(name string) string {
		for _, f := range flags {
			if f.env == name && *f.value != "" {
				return *f.value
			}
		}
		return os.Getenv(name)
	})
	if err != nil {
		fmt.Fprintln(stderr, err)
		for _, f := range flags {
			if *f.value != "" {
				fmt.Fprintf(stderr, "(--%s stands for %s)\n", f.flag, f.env)
			}
		}
		return cfg, false
	}
	return cfg, true
}

// flagVar is a command-line flag that stands for a variable of the
// environment: config.FromEnv reads and checks its value as it would the
// variable's, so a flag cannot get past a rule the variable is held to.
type flagVar struct {
	flag, env string
	value     *string
}
