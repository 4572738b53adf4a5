package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// binaryName is what the usage lines call the binary: the name README's CLI
// section builds it under (go build -o image-lifecycle ./function).
const binaryName = "image-lifecycle"

// command is one subcommand, as its help describes it.
type command struct {
	name     string // apply
	synopsis string // [flags] FILE|-
	about    string // what it does, one paragraph
}

// newFlags returns a flag set for c. The flag package writes its own errors
// (an unknown flag, a bad value) to stderr; parse adds the help or a hint.
func newFlags(c command, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // parse decides where the help goes
	return fs
}

// parse parses args with the flags anywhere among them, before or after the
// file ("--" ends the flags). The standard flag package stops at the first
// argument; a dozen lines here keep its single- and double-dash syntax and
// its help text rather than switching to another flag library. It returns
// the arguments, or ok false and the exit code: 0 after -h/--help (the help
// on stdout), 2 after a usage error (said on stderr).
func parse(c command, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (pos []string, code int, ok bool) {
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			writeHelp(stdout, c, fs)
			return nil, exitOK, false
		case err != nil:
			fmt.Fprintf(stderr, "run %q for help\n", binaryName+" "+c.name+" -h")
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), 0, true
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// usageError says what was wrong with the command line, and where the help is.
func usageError(stderr io.Writer, c command, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\nusage: %s %s %s\nrun %q for help\n", c.name, fmt.Sprintf(format, args...),
		binaryName, c.name, c.synopsis, binaryName+" "+c.name+" -h")
	return exitUsage
}

// writeHelp prints a command's help: usage line, what it does, its flags.
func writeHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: %s %s %s\n\n%s\n", binaryName, c.name, c.synopsis, c.about)
	if fs == nil {
		return
	}
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nFlags (one or two dashes):")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// wantsHelp reports whether args ask for help, for a command whose flags are
// parsed elsewhere (the emulator's).
func wantsHelp(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool {
		return a == "-h" || a == "--h" || a == "-help" || a == "--help"
	})
}

// choice is a flag that takes one of a fixed set of values, so that a wrong
// one is refused at parse time with the allowed values named.
type choice struct {
	value   string
	allowed []string
}

func newChoice(def string, allowed ...string) *choice { return &choice{value: def, allowed: allowed} }

func (c *choice) String() string {
	if c == nil {
		return ""
	}
	return c.value
}

func (c *choice) Set(s string) error {
	if !slices.Contains(c.allowed, s) {
		return fmt.Errorf("must be one of %s", strings.Join(c.allowed, ", "))
	}
	c.value = s
	return nil
}
