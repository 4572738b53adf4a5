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
	cf, err := parseCommand(args, stdout)
	if err != nil || cf == nil { // nil: the help was asked for, and printed
		return err
	}
	opts, source, err := cf.options(stdout)
	if err != nil {
		return err
	}
	s, err := New(opts)
	if err != nil {
		return err
	}
	for action, f := range cf.faults {
		s.SetFaults(action, *f)
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cf.listen)
	if err != nil {
		return fmt.Errorf("emulator: listen: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.httpSrv, s.url = srv, "http://"+l.Addr().String()
	images := len(s.images)
	s.mu.Unlock()
	cf.banner(stdout, s, l.Addr().String(), images, source)

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

// commandFlags is the emulator command's command line.
type commandFlags struct {
	listen, seedPath, statePath, region string
	ak, sk, token                       string
	creatingCalls                       int
	creatingFor                         time.Duration
	logCalls                            bool
	faults                              map[string]*Faults // by action, "" for all
	specs                               map[string]string  // the --faults text, by action
}

// parseCommand reads the command line; it returns nil and no error after -h.
func parseCommand(args []string, stdout io.Writer) (*commandFlags, error) {
	cf := &commandFlags{faults: map[string]*Faults{}, specs: map[string]string{}}
	flags := flag.NewFlagSet("emulator", flag.ContinueOnError)
	flags.SetOutput(stdout)
	flags.Usage = func() {
		fmt.Fprint(stdout, commandHelp)
		flags.PrintDefaults()
	}
	flags.StringVar(&cf.listen, "listen", "127.0.0.1:8080", "address to listen on")
	flags.StringVar(&cf.seedPath, "seed", "", "seed file (JSON, see events/seed/demo.json); empty = no images")
	flags.StringVar(&cf.statePath, "state", "", "state file: loaded if it exists, else created from --seed; saved after every change")
	flags.StringVar(&cf.region, "region", "", "default region (default: the seed's, else cn-hangzhou)")
	flags.StringVar(&cf.ak, "access-key-id", DefaultKey, "AccessKeyId accepted")
	flags.StringVar(&cf.sk, "access-key-secret", DefaultKey, "AccessKeySecret of that key")
	flags.StringVar(&cf.token, "security-token", "", "SecurityToken every request must carry (STS); empty = none")
	flags.IntVar(&cf.creatingCalls, "creating-calls", 0, "a Creating image becomes Available after this many calls touching it")
	flags.DurationVar(&cf.creatingFor, "creating-for", 0, "a Creating image becomes Available after this long (if --creating-calls is 0)")
	flags.BoolVar(&cf.logCalls, "log", false, "print one line per request")
	flags.Func("faults", "faults to inject, [ACTION:]key=value,... (see above); repeatable", cf.addFaults)
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, nil
		}
		return nil, fmt.Errorf("emulator: %w", err)
	}
	if flags.NArg() > 0 {
		return nil, fmt.Errorf("emulator: unexpected arguments %q", flags.Args())
	}
	if cf.ak == "" || cf.sk == "" {
		return nil, errors.New("emulator: --access-key-id and --access-key-secret must not be empty")
	}
	return cf, nil
}

// addFaults takes one --faults flag.
func (cf *commandFlags) addFaults(spec string) error {
	var f Faults
	action, err := ParseFaults(spec, &f)
	if err != nil {
		return err
	}
	if _, dup := cf.faults[action]; dup {
		return fmt.Errorf("faults for %q given twice: put them in one --faults", cmp.Or(action, "every action"))
	}
	cf.faults[action], cf.specs[action] = &f, spec
	return nil
}

// options are the emulator's options, and source says where its images come
// from: New loads an existing state file itself, and the seed is only its start.
func (cf *commandFlags) options(stdout io.Writer) (opts Options, source string, err error) {
	opts = Options{Keys: map[string]string{cf.ak: cf.sk}, SecurityToken: cf.token, Region: cf.region,
		CreatingCalls: cf.creatingCalls, CreatingFor: cf.creatingFor, StateFile: cf.statePath}
	if cf.logCalls {
		opts.Log = stdout
	}
	if cf.statePath != "" {
		_, err := os.Stat(cf.statePath)
		switch {
		case err == nil:
			return opts, cf.statePath + " (saved state)", nil
		case !errors.Is(err, fs.ErrNotExist):
			return opts, "", fmt.Errorf("emulator: --state: %w", err)
		}
	}
	if cf.seedPath != "" {
		if opts.Seed, err = LoadSeed(cf.seedPath); err != nil {
			return opts, "", err
		}
	}
	return opts, cf.seedPath, nil
}

// banner prints what a person needs to point an SDK at the emulator.
func (cf *commandFlags) banner(stdout io.Writer, s *Server, addr string, images int, source string) {
	fmt.Fprintf(stdout, "ECS emulator (API 2014-05-26, signatures V3 ACS3-HMAC-SHA256 and V1 HMAC-SHA1) serving %d images\n", images)
	fmt.Fprintf(stdout, "  endpoint           %s   (classic SDK: client.Domain = %q, scheme HTTP; Tea SDK: Endpoint %q, Protocol HTTP)\n",
		s.URL(), addr, addr)
	fmt.Fprintf(stdout, "  region             %s\n", s.region)
	fmt.Fprintf(stdout, "  access key id      %s\n", cf.ak)
	fmt.Fprintf(stdout, "  access key secret  %s\n", cf.sk)
	if cf.token != "" {
		fmt.Fprintf(stdout, "  security token     %s\n", cf.token)
	}
	if source != "" {
		fmt.Fprintf(stdout, "  images from        %s\n", source)
	}
	if cf.statePath != "" {
		fmt.Fprintf(stdout, "  state saved to     %s\n", cf.statePath)
	}
	for _, action := range slices.Sorted(maps.Keys(cf.faults)) {
		fmt.Fprintf(stdout, "  faults             %s\n", cf.specs[action])
	}
	fmt.Fprintf(stdout, "  calls              GET %s%scalls\n", s.URL(), adminPrefix)
	fmt.Fprintf(stdout, "  ECS_ENDPOINT=%s\n", s.URL())
}
