package fcfake

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"
)

// Build compiles the main package pkg (e.g. "./function") in directory dir
// into out, for this machine: what an end-to-end test runs against a Server.
func Build(ctx context.Context, dir, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("fcfake: go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}

// InstanceEnv is the environment FC gives a go1 instance, pointed at s: the
// runtime API address and the FC_* variables, with fake values matching
// DefaultHeaders.
func (s *Server) InstanceEnv() []string {
	return []string{
		"FC_RUNTIME_API=" + s.Addr(),
		"FC_FUNCTION_NAME=fcfake-function",
		"FC_FUNCTION_HANDLER=main",
		"FC_FUNCTION_MEMORY_SIZE=128",
		"FC_REGION=cn-hangzhou",
		"FC_ACCOUNT_ID=1234567890123456",
		"FC_INSTANCE_ID=fcfake-instance",
	}
}

// Process is a function binary running as an FC instance against a Server.
type Process struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // exit status, set before done closes
}

// StartProcess starts binary with InstanceEnv plus env ("KEY=VALUE", later
// entries win). The host's environment is not passed on, so stray credentials
// or endpoints cannot leak into a test. Stdout and stderr are kept for Output.
func (s *Server) StartProcess(binary string, env ...string) (*Process, error) {
	cmd := exec.Command(binary)
	cmd.Env = append(s.InstanceEnv(), env...)
	return StartCommand(cmd)
}

// StartCommand starts cmd, keeping what it writes to stdout and stderr for
// Output: the same handling for a binary under the runtime API and for one
// serving HTTP on its own (the custom runtime).
func StartCommand(cmd *exec.Cmd) (*Process, error) {
	p := &Process{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fcfake: start %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Err is the process's exit status once Exited is closed.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Output is what the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Exited is closed when the process has ended, by itself or by Stop.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Stop kills the process (FC freezes or kills an instance the same abrupt
// way) and waits for it. It reports an exit that happened before Stop.
func (p *Process) Stop() error {
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("fcfake: process had already exited: %w", p.err)
		}
		return fmt.Errorf("fcfake: process had already exited")
	default:
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("fcfake: process %d did not end after kill", p.cmd.Process.Pid)
	}
}

// syncBuffer is a bytes.Buffer safe for the process's writers and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
