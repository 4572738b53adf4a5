package emulator

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"time"
)

// commandHelp is what "emulator -h" prints before the flags.
const commandHelp = `usage: emulator [flags]

A local ECS image API (RPC, version 2014-05-26) for any Alibaba Cloud SDK or
hand-signed client: DescribeImages, ModifyImageAttribute, DescribeImageFromFamily,
DescribeImageSharePermission, ModifyImageSharePermission and DescribeInstances
at http://LISTEN/. It prints the endpoint and the key it accepts, then serves
until interrupted.

Signatures (both verified; the timestamp must be within 15 minutes and a nonce
is accepted once):
  V3  ACS3-HMAC-SHA256, the default of the Tea/Darabonba SDKs (Go
      github.com/alibabacloud-go/ecs-20140526/v7, Node @alicloud/ecs20140526):
      Authorization header, x-acs-action, x-acs-version, x-acs-date,
      x-acs-signature-nonce, x-acs-content-sha256; STS token in
      x-acs-security-token. (ACS3-HMAC-SM3 and ACS3-RSA-SHA256 are refused.)
  V1  HMAC-SHA1, SignatureVersion 1.0: alibaba-cloud-sdk-go, and the Tea SDKs
      with SignatureAlgorithm "v2": Action, Signature, Timestamp, SignatureNonce
      and SecurityToken as parameters.
  Parameters come from the query or a form body; answers are JSON. A wrong
  secret is 400 SignatureDoesNotMatch, an unknown key 404
  InvalidAccessKeyId.NotFound. A parameter an action does not honour is
  refused with 400 UnsupportedParameter rather than ignored.

Faults (--faults, repeatable): [ACTION:]key=value,... (no ACTION: every action,
sharing one rate bucket)
  rate-limit=N        N calls per second, then 400 Throttling.User
  fail-next=A+B       the next calls fail in this order, each with an API code
                      (Throttling.User, ServiceUnavailable, InternalError,
                      InvalidStatus.ImageIsCreating, ...) or with reset (no
                      answer), slow, badgateway (502 HTML) or nonstring-code
  unavailable=P       a share P (0..1) of calls: 503 ServiceUnavailable
  internal=P          500 InternalError
  bad-gateway=P       502 with an HTML body
  reset=P             the connection closed without an answer
  slow=P              the answer after slow-delay (default 10s)
  slow-delay=D, seed=N
  e.g. --faults unavailable=0.1,reset=0.02 --faults ModifyImageAttribute:rate-limit=5

Seeing the calls:
  --log                 one line per request on stdout: signature, action,
                        parameters (never a key or token), answer, time taken
  GET /_emulator/calls  JSON, read-only: "calls" by action, "rejected" (refused
                        before any action) by code, and "modifyImageAttribute",
                        the log of ModifyImageAttribute calls with their answers

State:
  --state FILE   load the images from FILE if it exists (else from --seed), and
                 write them back to it after every change (a temporary file
                 renamed over it), so several commands can share one session.
                 FILE has the --seed format.

Flags:
`

// Main is the "emulator" command: it serves the emulator on --listen with the
// state of --state or --seed until ctx is done, after printing the endpoint
// and the keys so a person can point any SDK at it. args are the flags only
// (no command name); "-h" prints commandHelp.
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("emulator", flag.ContinueOnError)
	flags.SetOutput(stdout)
	flags.Usage = func() {
		fmt.Fprint(stdout, commandHelp)
		flags.PrintDefaults()
	}
	listen := flags.String("listen", "127.0.0.1:8080", "address to listen on")
	seedPath := flags.String("seed", "", "seed file (JSON, see events/seed/demo.json); empty = no images")
	statePath := flags.String("state", "", "state file: loaded if it exists, else created from --seed; saved after every change")
	region := flags.String("region", "", "default region (default: the seed's, else cn-hangzhou)")
	ak := flags.String("access-key-id", DefaultKey, "AccessKeyId accepted")
	sk := flags.String("access-key-secret", DefaultKey, "AccessKeySecret of that key")
	token := flags.String("security-token", "", "SecurityToken every request must carry (STS); empty = none")
	creatingCalls := flags.Int("creating-calls", 0, "a Creating image becomes Available after this many calls touching it")
	creatingFor := flags.Duration("creating-for", 0, "a Creating image becomes Available after this long (if --creating-calls is 0)")
	logCalls := flags.Bool("log", false, "print one line per request")
	faults, specs := map[string]*Faults{}, map[string]string{}
	flags.Func("faults", "faults to inject, [ACTION:]key=value,... (see above); repeatable", func(spec string) error {
		var f Faults
		action, err := ParseFaults(spec, &f)
		if err != nil {
			return err
		}
		if _, dup := faults[action]; dup {
			return fmt.Errorf("faults for %q given twice: put them in one --faults", cmp.Or(action, "every action"))
		}
		faults[action], specs[action] = &f, spec
		return nil
	})
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("emulator: %w", err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("emulator: unexpected arguments %q", flags.Args())
	}
	if *ak == "" || *sk == "" {
		return errors.New("emulator: --access-key-id and --access-key-secret must not be empty")
	}
	opts := Options{Keys: map[string]string{*ak: *sk}, SecurityToken: *token, Region: *region,
		CreatingCalls: *creatingCalls, CreatingFor: *creatingFor, StateFile: *statePath}
	if *logCalls {
		opts.Log = stdout
	}
	// New loads an existing state file itself; the seed is only its start.
	stateExists := false
	if *statePath != "" {
		_, err := os.Stat(*statePath)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("emulator: --state: %w", err)
		}
		stateExists = err == nil
	}
	source := *seedPath
	if stateExists {
		source = *statePath + " (saved state)"
	} else if *seedPath != "" {
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
	for action, f := range faults {
		s.SetFaults(action, *f)
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

	fmt.Fprintf(stdout, "ECS emulator (API 2014-05-26, signatures V3 ACS3-HMAC-SHA256 and V1 HMAC-SHA1) serving %d images\n", images)
	fmt.Fprintf(stdout, "  endpoint           %s   (classic SDK: client.Domain = %q, scheme HTTP; Tea SDK: Endpoint %q, Protocol HTTP)\n",
		s.URL(), l.Addr().String(), l.Addr().String())
	fmt.Fprintf(stdout, "  region             %s\n", s.region)
	fmt.Fprintf(stdout, "  access key id      %s\n", *ak)
	fmt.Fprintf(stdout, "  access key secret  %s\n", *sk)
	if *token != "" {
		fmt.Fprintf(stdout, "  security token     %s\n", *token)
	}
	if source != "" {
		fmt.Fprintf(stdout, "  images from        %s\n", source)
	}
	if *statePath != "" {
		fmt.Fprintf(stdout, "  state saved to     %s\n", *statePath)
	}
	for _, action := range slices.Sorted(maps.Keys(faults)) {
		fmt.Fprintf(stdout, "  faults             %s\n", specs[action])
	}
	fmt.Fprintf(stdout, "  calls              GET %s%scalls\n", s.URL(), adminPrefix)
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
	return errors.Join(<-done, s.persist())
}
