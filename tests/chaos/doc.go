// Package chaos runs the compiled function through a long, hostile day and
// checks the end state against an oracle written apart from the engine.
//
// TestChaos builds the binary once, runs it under the go1 runtime API fake
// (tests/fcfake) with STS credentials in every invocation, and points it at
// the ECS emulator (function/emulator) and the MNS fake (tests/mnsfake). The
// test plays the MNS trigger: it delivers generated intents of every action
// (modify, deprecate, activate, promote of images still Creating, rotate,
// rollback, dry runs and a few invalid ones) in event-streaming batches of 1
// to 10, re-orders and duplicates 5% of them, delivers again every batch whose
// invocation failed, and feeds back what the function deferred to RETRY_QUEUE
// (the trigger's own queue, as in production; delays compressed to a few
// invocations). Meanwhile the emulator fails about a fifth of all calls
// (Throttling, 503, 500, a non-JSON 502, connection resets, answers slower than
// the client waits), and both queues go down for a while.
//
// At the end: every image is as the oracle computes it from the intents;
// every report counts each message it received exactly once; no write ever
// took a family below its floor (checked by the emulator on every write); the
// process never panicked; and every message, deferred or not, ended applied,
// unchanged, planned or dead-lettered (lost = 0). The figures are logged as a
// table.
//
//	go test -race ./tests/chaos                       # the short run: 500 messages (CI)
//	go test ./tests/chaos -run TestChaos -v -chaos.messages=5000 -timeout 60m
//	go test ./tests/chaos -run TestChaos -v -chaos.seed=42   # replay or explore another seed
//
// The seed fixes the intents, the delivery order, duplicates, batch sizes and
// the fault dice; timing still varies from run to run (which call a fault hits
// depends on what runs concurrently), and the oracle does not depend on it.
// The package has no code of its own; see the _test files.
package chaos
