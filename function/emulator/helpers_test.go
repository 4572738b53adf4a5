package emulator

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/ecsapi"
)

const testRegion = "cn-hangzhou"

// start runs an emulator for one test and closes it at the end.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// client is the real SDK client pointed at the emulator, without retries.
func client(t *testing.T, s *Server, ak, sk string) *ecs.Client {
	t.Helper()
	c, err := ecs.NewClientWithAccessKey(testRegion, ak, sk)
	if err != nil {
		t.Fatalf("NewClientWithAccessKey: %v", err)
	}
	point(t, c, s)
	return c
}

func point(t *testing.T, c *ecs.Client, s *Server) {
	t.Helper()
	c.Domain = strings.TrimPrefix(s.URL(), "http://")
	c.GetConfig().WithAutoRetry(false).WithScheme("HTTP")
	c.SetReadTimeout(5 * time.Second)
}

func defaultClient(t *testing.T, s *Server) *ecs.Client {
	t.Helper()
	return client(t, s, DefaultKey, DefaultKey)
}

// serverError asserts err is the SDK's ServerError with code and status.
func serverError(t *testing.T, err error, code string, status int) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("want ServerError %s, got %T %v", code, err, err)
	}
	if se.ErrorCode() != code || se.HttpStatus() != status {
		t.Fatalf("want %d %s, got %d %s: %s", status, code, se.HttpStatus(), se.ErrorCode(), se.Message())
	}
	if se.RequestId() == "" || se.HostId() == "" {
		t.Fatalf("error without RequestId/HostId: %v", err)
	}
	return se
}

// img is a seed image with the fields tests care about.
func img(id, name, family, status string, created time.Time) SeedImage {
	return SeedImage{Image: ecsapi.Image{ImageID: id, Name: name, Family: family, Status: status, CreationTime: created}}
}

var day0 = time.Date(2026, 10, 1, 8, 0, 0, 0, time.UTC)

func seedOf(images ...SeedImage) *Seed {
	return &Seed{Region: testRegion, AccountID: "1234567890123456", Images: images}
}

// TestMain warms the SDK's lazily built global endpoint map: ecs.New* clients
// fill it without a lock, so parallel tests creating clients race on it.
func TestMain(m *testing.M) {
	ecs.GetEndpointMap()
	os.Exit(m.Run())
}
