package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

var versionCommand = command{name: "version", synopsis: "",
	about: "Prints the module version, the VCS revision it was built from and the Go version (also: --version)."}

// runVersion prints the version line; it takes no arguments but -h.
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags(versionCommand, stderr)
	pos, code, ok := parse(versionCommand, fs, args, stdout, stderr)
	switch {
	case !ok:
		return code
	case len(pos) > 0:
		return usageError(stderr, versionCommand, "version takes no arguments, got %q", pos)
	}
	info, ok := debug.ReadBuildInfo()
	fmt.Fprint(stdout, versionLine(info, ok))
	return exitOK
}

// versionLine reads what the Go toolchain stamps into every binary: the main
// module's version ("(devel)" for a local build) and, when built inside a
// repository, the VCS revision, its time and whether the tree was modified.
func versionLine(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return binaryName + " (no build information in this binary)\n"
	}
	version := info.Main.Version
	if version == "" {
		version = "(unknown version)"
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	revision := "revision unknown (built without VCS information)"
	if r := settings["vcs.revision"]; r != "" {
		revision = "revision " + r[:min(12, len(r))]
		if settings["vcs.modified"] == "true" {
			revision += " (modified)"
		}
		if t := settings["vcs.time"]; t != "" {
			revision += ", committed " + t
		}
	}
	return fmt.Sprintf("%s %s, %s, %s\n", binaryName, version, revision, info.GoVersion)
}
