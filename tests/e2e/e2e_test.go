package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// binary is the function, built once by TestMain for every test.
var binary string

// repoRoot is the module root, where events/ and bootstrap live.
var repoRoot string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	bin, root, remove, err := testenv.BuildForTestMain("e2e-function-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer remove()
	binary, repoRoot = bin, root
	return m.Run()
}
