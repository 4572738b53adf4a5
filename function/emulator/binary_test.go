package emulator_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTeaSDKStaysOutOfTheBinary: the Tea SDK is a dependency of the tests
// only. The function's binary must not carry it (size, cold start, and
// what a reviewer of the deployed artefact has to vet).
func TestTeaSDKStaysOutOfTheBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function")
	}
	// Not parallel: the build would compete for the CPU with the package's
	// timing-sensitive tests (fault timeouts).
	bin := filepath.Join(t.TempDir(), "main")
	build := exec.Command("go", "build", "-o", bin, "./function")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./function: %v\n%s", err, out)
	}
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
