package chaos

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

var (
	flagMessages = flag.Int("chaos.messages", 500, "intents to publish (the long run: 5000)")
	flagSeed     = flag.Uint64("chaos.seed", 20261127, "seed of the intents, the delivery and the fault dice")
)

// binary is the function, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	bin, _, remove, err := testenv.BuildForTestMain("chaos-function-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		return 1
	}
	defer remove()
	binary = bin
	return m.Run()
}
