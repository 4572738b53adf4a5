// Package e2e holds the end-to-end tests of the compiled function: they build
// the binary once with the s.yaml pre-deploy flags (for the host), run it the
// way Function Compute does - under the go1 runtime API (tests/fcfake) and as a
// custom runtime (serve, the repository's bootstrap) - and point it at the ECS
// emulator and the MNS fake, so every boundary is crossed by the real SDKs
// over loopback sockets. The package has no code of its own; see the _test files.
//
//	go test -race ./tests/e2e                 # the suite, about 15 s
//	go test ./tests/e2e -run '^$' -bench .    # one small invocation, go1 and serve
//
// The binary is built from the working tree, so it includes uncommitted edits.
package e2e
