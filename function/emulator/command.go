package emulator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Main is the "emulator" command: it serves the emulator on --listen with the
// state of --seed until ctx is done, after printing the endpoint and the keys
// so a person can point any SDK at it. args are the flags only (no command name):
//
//	--listen 127.0.0.1:PORT --seed FILE [--region R]
//	[--access-key-id emulator --access-key-secret emulator] [--security-token T]
//	[--creating-calls N] [--creating-for 30s]
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stdout)
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on")
	seedPath := fs.String("seed", "", "seed file (JSON, see events/seed/demo.json); empty = no images")
	region := fs.String("region", "", "default region (default: the seed's, else cn-hangzhou)")
	ak := fs.String("access-key-id", DefaultKey, "AccessKeyId accepted")
	sk := fs.String("access-key-secret", DefaultKey, "AccessKeySecret of that key")
	token := fs.String("security-token", "", "SecurityToken every request must carry (STS); empty = none")
	creatingCalls := fs.Int("creating-calls", 0, "a Creating image becomes Available after this many calls touching it")
	creatingFor := fs.Duration("creating-for", 0, "a Creating image becomes Available after this long (if --creating-calls is 0)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("emulator: unexpected arguments %q", fs.Args())
	}
	if *ak == "" || *sk == "" {
		return errors.New("emulator: --access-key-id and --access-key-secret must not be empty")
	}
	opts := Options{Keys: map[string]string{*ak: *sk}, SecurityToken: *token, Region: *region,
		CreatingCalls: *creatingCalls, CreatingFor: *creatingFor}
	if *seedPath != "" {
		seed, err := LoadSeed(*seedPath)
		if err != nil {
			return err
		}
		opts.Seed = seed
	}
	s, err := New(opts)
	if err != nil {
		return err
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.httpSrv, s.url = srv, "http://"+l.Addr().String()
	images := len(s.images)
	s.mu.Unlock()

	fmt.Fprintf(stdout, "ECS emulator (API 2014-05-26) serving %d images\n", images)
	fmt.Fprintf(stdout, "  endpoint           %s   (SDK: client.Domain = %q, scheme HTTP)\n", s.URL(), l.Addr().String())
	fmt.Fprintf(stdout, "  region             %s\n", s.region)
	fmt.Fprintf(stdout, "  access key id      %s\n", *ak)
	fmt.Fprintf(stdout, "  access key secret  %s\n", *sk)
	if *token != "" {
		fmt.Fprintf(stdout, "  security token     %s\n", *token)
	}
	fmt.Fprintf(stdout, "  ECS_ENDPOINT=%s\n", s.URL())

	done := make(chan error, 1)
	go func() { done <- s.serve(srv, l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		_ = srv.Close()
	}
	return <-done
}
