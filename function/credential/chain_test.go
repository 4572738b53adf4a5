package credential_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
)

// blackHole accepts connections, reads the first request line and never
// answers: what 100.100.100.200 does off ECS. TestMain makes it this test
// binary's HTTP proxy, so the SDK's metadata lookup reaches it instead of
// the metadata address (the SDK's transport honours HTTP_PROXY).
type blackHole struct {
	ln    net.Listener
	mu    sync.Mutex
	lines []string
	conns []net.Conn
}

func (b *blackHole) serve() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.mu.Lock()
		b.conns = append(b.conns, c)
		b.mu.Unlock()
		go func() {
			line, _ := bufio.NewReader(c).ReadString('\n')
			b.mu.Lock()
			b.lines = append(b.lines, strings.TrimSpace(line))
			b.mu.Unlock()
		}()
	}
}

func (b *blackHole) requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...)
}

var hole *blackHole

func TestMain(m *testing.M) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hole = &blackHole{ln: ln}
	go hole.serve()
	// Before anything reads the proxy settings: net/http reads them once.
	os.Setenv("HTTP_PROXY", "http://"+ln.Addr().String())
	os.Unsetenv("http_proxy")
	os.Unsetenv("NO_PROXY")
	os.Unsetenv("no_proxy")
	code := m.Run()
	ln.Close()
	hole.mu.Lock()
	for _, c := range hole.conns {
		c.Close()
	}
	hole.mu.Unlock()
	os.Exit(code)
}

// isolate leaves the chain nothing to find but what the test sets.
func isolate(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
		"ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_CREDENTIALS_FILE", "ALIBABA_CLOUD_CREDENTIALS_URI", "ALIBABA_CLOUD_ECS_METADATA",
		"ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
}

func TestChainFindsTheEnvironmentWithItsToken(t *testing.T) {
	isolate(t)
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.env")
	t.Setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret")
	t.Setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "env-token")
	c, err := credential.NewChain().Get()
	if err != nil {
		t.Fatal(err)
	}
	if want := (credential.Credentials{AccessKeyID: "STS.env", AccessKeySecret: "env-secret", SecurityToken: "env-token"}); c != want {
		t.Fatalf("Get = %#v, want %#v", c, want)
	}
}

func TestChainFindingNothingSaysWhatToSet(t *testing.T) {
	isolate(t)
	_, err := credential.NewChain().Get()
	if credential.Code(err) != credential.CodeNotFound {
		t.Fatalf("Get: %v, want %s", err, credential.CodeNotFound)
	}
	for _, want := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "profile", "RAM role", "tried environment"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestChainBoundsTheMetadataLookup: with no keys and no profile, the chain
// asks the instance metadata service, which here (as off ECS) accepts and
// never answers. The lookup must end, with CodeNotFound, not hang or pass as
// a network fault. How long it took is measured by BenchmarkMetadataLookup.
func TestChainBoundsTheMetadataLookup(t *testing.T) {
	isolate(t)
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "")
	mustGoThroughTheHole(t)
	_, err := credential.NewChain().Get()
	if credential.Code(err) != credential.CodeNotFound || !strings.Contains(err.Error(), "ECS instance RAM role") {
		t.Fatalf("Get: %v, want %s after asking for an instance role", err, credential.CodeNotFound)
	}
	t.Log(err)
	reqs := hole.requests()
	if len(reqs) == 0 || !strings.Contains(strings.Join(reqs, "\n"), "100.100.100.200") {
		t.Fatalf("the metadata lookup did not go through the loopback proxy; requests seen: %q", reqs)
	}
}

// mustGoThroughTheHole stops the test before any request could reach the
// real metadata address, should the proxy setting not apply.
func mustGoThroughTheHole(t testing.TB) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://100.100.100.200/latest/meta-data/", nil)
	u, err := http.ProxyFromEnvironment(req)
	if err != nil || u == nil || u.Host != hole.ln.Addr().String() {
		t.Fatalf("HTTP_PROXY does not lead to the black hole (%v, %v): refusing to look up the real metadata address", u, err)
	}
}

func BenchmarkMetadataLookup(b *testing.B) {
	b.Setenv("HOME", b.TempDir())
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_ECS_METADATA_DISABLED",
		"ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_CREDENTIALS_URI", "ALIBABA_CLOUD_ECS_METADATA"} {
		b.Setenv(k, "")
	}
	mustGoThroughTheHole(b)
	for b.Loop() {
		if _, err := credential.NewChain().Get(); err == nil {
			b.Fatal("found credentials")
		}
	}
}
