package emulator_test

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/internal/testenv"
)

// TestTeaSDKStaysOutOfTheBinary: the Tea SDK is a dependency of the tests
// only. The function's binary must not carry it (size, cold start, and
// what a reviewer of the deployed artefact has to vet).
func TestTeaSDKStaysOutOfTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function")
	}
	// Not in parallel with the other tests: the build would compete for the
	// CPU with the package's timing-sensitive tests (fault timeouts).
	bin := testenv.BuildFunction(t)
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	info := string(out)
	// The listing is read right: the classic SDK, which the function uses, is in it.
	if !strings.Contains(info, "\tdep\tgithub.com/aliyun/alibaba-cloud-sdk-go\t") {
		t.Fatalf("go version -m does not list alibaba-cloud-sdk-go:\n%s", info)
	}
	for _, mod := range []string{"github.com/alibabacloud-go/ecs-20140526", "github.com/alibabacloud-go/darabonba"} {
		if strings.Contains(info, mod) {
			t.Errorf("the function's binary contains %s:\n%s", mod, info)
		}
	}
}

// TestNothingHeavyAtInit: no package of this module does real work when the
// function starts (every start of an FC instance pays for it): a regular
// expression with a long repeat, or the emulator's, compiled at package
// init, cost 1,351 and 2,236 allocations. Read from GODEBUG=inittrace=1.
func TestNothingHeavyAtInit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function")
	}
	cmd := exec.Command(testenv.BuildFunction(t), "version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("version: %v\n%s", err, out)
	}
	const most = 200 // allocations at init, per package
	line := regexp.MustCompile(`(?m)^init (github\.com/ecs-image-lifecycle/image-lifecycle/\S+) @\S+ ms, \S+ ms clock, \d+ bytes, (\d+) allocs$`)
	seen := 0
	for _, m := range line.FindAllStringSubmatch(string(out), -1) {
		seen++
		if n, _ := strconv.Atoi(m[2]); n > most {
			t.Errorf("%s allocates %d times at init, want %d at most", m[1], n, most)
		}
	}
	if seen < 3 {
		t.Fatalf("inittrace shows %d packages of this module; the trace was not read:\n%s", seen, out)
	}
}
