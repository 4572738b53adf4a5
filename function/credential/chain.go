package credential

import (
	"os"
	"strings"
	"sync"
	"time"

	sdk "github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
)

// MetadataTimeout bounds the lookup of an instance RAM role at the ECS
// instance metadata service (100.100.100.200) when it does not answer. On ECS
// the service answers in milliseconds; elsewhere the address often accepts a
// connection and never answers, and the SDK's own chain then waited about 4 s
// per lookup, which a retry loop turned into a quarter of an hour. A failing
// lookup makes two requests (an IMDSv2 token, then the role name), so each
// gets half of it, split between connecting and answering.
const MetadataTimeout = time.Second

// Hint says what to set when no credentials were found.
const Hint = "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET " +
	"(and ALIBABA_CLOUD_SECURITY_TOKEN for STS keys), or a profile (ALIBABA_CLOUD_PROFILE, " +
	"~/.aliyun/config.json or ~/.alibabacloud/credentials), or run on an ECS instance with a RAM role"

// Chain is the SDK's default credential chain, for front doors that have no
// invocation to take credentials from (the CLI): the environment
// (ALIBABA_CLOUD_ACCESS_KEY_ID, _SECRET, _SECURITY_TOKEN), OIDC, the aliyun
// CLI's profile, the credentials file, the ECS instance RAM role, and
// ALIBABA_CLOUD_CREDENTIALS_URI, in the SDK's order.
//
// It is the SDK's chain, built from the SDK's providers, for two reasons the
// SDK's NewDefaultCredentialsProvider cannot serve: the instance-role lookup
// gets MetadataTimeout (the SDK offers no way to set it on its own chain),
// and finding nothing is an *Error with CodeNotFound that says what to set,
// which callers tell apart from a network fault.
//
// A Chain is safe for concurrent use: lookups are serialised, because the
// SDK's providers keep state (cached role credentials) without a lock.
type Chain struct {
	mu        sync.Mutex
	providers []namedProvider
	last      sdk.CredentialsProvider // the provider that answered last
}

type namedProvider struct {
	name string
	p    sdk.CredentialsProvider
}

// NewChain builds the chain from the current environment. It makes no request.
func NewChain() *Chain {
	c := &Chain{}
	add := func(name string, p sdk.CredentialsProvider) {
		c.providers = append(c.providers, namedProvider{name, p})
	}
	add("environment", sdk.NewEnvironmentVariableCredentialsProvider())
	if p, err := sdk.NewOIDCCredentialsProviderBuilder().Build(); err == nil {
		add("OIDC", p)
	}
	add("aliyun CLI profile", sdk.NewCLIProfileCredentialsProviderBuilder().Build())
	add("credentials file", sdk.NewProfileCredentialsProviderBuilder().Build())
	// Build refuses when ALIBABA_CLOUD_ECS_METADATA_DISABLED=true.
	quarter := MetadataTimeout / 4
	if p, err := sdk.NewECSRAMRoleCredentialsProviderBuilder().
		WithHttpOptions(&sdk.HttpOptions{ConnectTimeout: quarter, ReadTimeout: quarter}).Build(); err == nil {
		add("ECS instance RAM role", p)
	}
	if os.Getenv("ALIBABA_CLOUD_CREDENTIALS_URI") != "" {
		if p, err := sdk.NewURLCredentialsProviderBuilderBuilder().Build(); err == nil {
			add("ALIBABA_CLOUD_CREDENTIALS_URI", p)
		}
	}
	return c
}

// Get returns the first credentials the chain finds, or an *Error with
// CodeNotFound naming what to set and what each source answered.
func (c *Chain) Get() (Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil {
		if cc, err := c.last.GetCredentials(); err == nil {
			return fromSDK(cc), nil
		}
		c.last = nil // it stopped answering (an expired role, say): ask them all again
	}
	var tried []string
	for _, np := range c.providers {
		cc, err := np.p.GetCredentials()
		if err == nil && cc != nil && cc.AccessKeyId != "" && cc.AccessKeySecret != "" {
			c.last = np.p
			return fromSDK(cc), nil
		}
		if err != nil {
			// The SDK's errors name variables, files and URLs, never values.
			tried = append(tried, np.name+": "+oneLine(err.Error()))
		} else {
			tried = append(tried, np.name+": no key pair")
		}
	}
	return Credentials{}, notFound("no credentials found: " + Hint + " (tried " + strings.Join(tried, "; ") + ")")
}

// GetCredentials makes the Chain a credentials provider of the ECS SDK.
func (c *Chain) GetCredentials() (*sdk.Credentials, error) {
	cr, err := c.Get()
	if err != nil {
		return nil, err
	}
	return &sdk.Credentials{AccessKeyId: cr.AccessKeyID, AccessKeySecret: cr.AccessKeySecret,
		SecurityToken: cr.SecurityToken, ProviderName: c.GetProviderName()}, nil
}

// GetProviderName names the chain in the SDK's x-acs-credentials-provider header.
func (c *Chain) GetProviderName() string { return "default" }

func fromSDK(cc *sdk.Credentials) Credentials {
	return Credentials{AccessKeyID: cc.AccessKeyId, AccessKeySecret: cc.AccessKeySecret, SecurityToken: cc.SecurityToken}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
