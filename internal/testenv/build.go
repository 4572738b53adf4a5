package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// BuildFunctionTo compiles ./function into out as the s.yaml pre-deploy
// action builds it (no cgo, trimmed), but for this machine: what the
// end-to-end, chaos, memory and binary tests run. root is the module root.
// It takes no testing.TB, so a TestMain can build once for its whole package;
// BuildFunction is the same for one test.
func BuildFunctionTo(ctx context.Context, root, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, "./function")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -trimpath ./function: %w\n%s", err, b)
	}
	return nil
}
