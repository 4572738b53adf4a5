package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
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

// BuildForTestMain builds the function once for a package's TestMain, into a
// new temporary directory named after prefix, from the module root two levels
// up (tests/<pkg>). remove deletes the directory; call it when m.Run is done.
func BuildForTestMain(prefix string) (binary, root string, remove func(), err error) {
	root, err = filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", "", nil, err
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", nil, err
	}
	remove = func() { _ = os.RemoveAll(dir) }
	binary = filepath.Join(dir, "main")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := BuildFunctionTo(ctx, root, binary); err != nil {
		remove()
		return "", "", nil, err
	}
	return binary, root, remove, nil
}
