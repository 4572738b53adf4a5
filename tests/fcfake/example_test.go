package fcfake_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/tests/fcfake"
)

// An end-to-end test builds the function, runs it as FC's go1 runtime would
// and invokes it. (Compiled, not run: it needs the function to build.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join("/tmp", "function") // t.TempDir() in a test
	if err := fcfake.Build(ctx, "../..", "./function", bin); err != nil {
		log.Fatal(err)
	}
	s, err := fcfake.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// Configuration as s.yaml sets it, pointed at local fakes.
	p, err := s.StartProcess(bin, "ECS_ENDPOINT=http://127.0.0.1:8080", "LOG_LEVEL=debug")
	if err != nil {
		log.Fatal(err)
	}
	defer p.Stop() // before s.Close: a running SDK polls a closed port in a tight loop

	r, err := s.Invoke(ctx, fcfake.Invocation{
		Payload: []byte(`{"action":"deprecate","imageId":"m-123"}`),
		Timeout: 300 * time.Second,
		Headers: fcfake.CredentialHeaders("STS.id", "secret", "token"),
	})
	if err != nil {
		log.Fatal(err, "\n", p.Output())
	}
	if r.IsError {
		log.Fatalf("%s: %s", r.ErrorType, r.ErrorMessage)
	}
	fmt.Printf("%s\n", r.Body)
}
