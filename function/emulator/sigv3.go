package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
)

// v3Algorithm is the one V3 algorithm the emulator verifies. The Tea SDKs
// also offer ACS3-HMAC-SM3 and ACS3-RSA-SHA256, which a caller must choose
// explicitly.
const v3Algorithm = "ACS3-HMAC-SHA256"

// v3Required are the headers every V3 request carries and must sign; with STS
// x-acs-security-token is added. host is signed as well.
var v3Required = []string{"x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}

// v3Auth is the parsed Authorization header.
type v3Auth struct {
	accessKeyID   string
	signedHeaders []string // lower case, sorted
	signature     string   // lower-case hex
}

// authenticateV3 checks an ACS3-HMAC-SHA256 request, the default signature
// of the Tea/Darabonba SDKs: action and version come from headers, the
// parameters from the query or a form body.
func (s *Server) authenticateV3(req *rpcRequest) (action string, aerr *apiError) {
	h := req.header
	action = h.Get("x-acs-action")
	raw := h.Get("Authorization")
	if raw == "" {
		return action, missing("Authorization")
	}
	auth, aerr := parseV3Authorization(raw)
	if aerr != nil {
		return action, aerr
	}
	for _, name := range v3Required {
		if h.Get(name) == "" {
			return action, missing(name)
		}
	}
	if v := h.Get("x-acs-version"); v != apiVersion {
		return action, errorf(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid: %q.", v)
	}
	mustSign := append([]string{"host"}, v3Required...)
	if h.Get("x-acs-security-token") != "" {
		mustSign = append(mustSign, "x-acs-security-token")
	}
	for _, name := range mustSign {
		if !slices.Contains(auth.signedHeaders, name) {
			return action, incompleteSignature("SignedHeaders must include " + name + ".")
		}
	}
	secret, ok := s.keys[auth.accessKeyID]
	if !ok {
		return action, unknownKey()
	}
	sum := sha256.Sum256(req.body)
	payloadHash := hex.EncodeToString(sum[:])
	if got := strings.ToLower(h.Get("x-acs-content-sha256")); got != payloadHash {
		return action, errorf(http.StatusBadRequest, "SignatureDoesNotMatch",
			"The x-acs-content-sha256 header %s is not the SHA-256 of the request body (%d bytes): %s.", got, len(req.body), payloadHash)
	}
	sts := v3Algorithm + "\n" + hexSHA256(canonicalRequestV3(req, auth.signedHeaders, payloadHash))
	if !hmac.Equal([]byte(signV3(secret, sts)), []byte(auth.signature)) {
		return action, errorf(http.StatusBadRequest, "SignatureDoesNotMatch",
			"Specified signature does not match our calculation. server StringToSign is [%s]", sts)
	}
	return action, s.checkReplay(h.Get("x-acs-security-token"), h.Get("x-acs-date"), h.Get("x-acs-signature-nonce"))
}

// parseV3Authorization reads "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex".
func parseV3Authorization(raw string) (v3Auth, *apiError) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(raw), " ")
	if !ok {
		return v3Auth{}, incompleteSignature("The Authorization header is not \"ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...\".")
	}
	if alg != v3Algorithm {
		return v3Auth{}, errorf(http.StatusBadRequest, "InvalidParameter",
			"The signature algorithm %q is not supported by this emulator; it verifies %s (and HMAC-SHA1, SignatureVersion 1.0).", alg, v3Algorithm)
	}
	var a v3Auth
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			a.accessKeyID = v
		case "SignedHeaders":
			for name := range strings.SplitSeq(v, ";") {
				if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
					a.signedHeaders = append(a.signedHeaders, name)
				}
			}
		case "Signature":
			a.signature = strings.ToLower(v)
		}
	}
	if a.accessKeyID == "" || len(a.signedHeaders) == 0 || a.signature == "" {
		return v3Auth{}, incompleteSignature("The Authorization header lacks Credential, SignedHeaders or Signature.")
	}
	slices.Sort(a.signedHeaders)
	a.signedHeaders = slices.Compact(a.signedHeaders)
	return a, nil
}

// canonicalRequestV3 rebuilds what the client signed:
//
//	METHOD \n URI \n canonical query \n canonical headers \n signed header names \n body hash
//
// The canonical query is built from the decoded values, so it does not matter
// whether the client wrote a space as + (Go's url.Values) or %20 (Node).
func canonicalRequestV3(req *rpcRequest, signedHeaders []string, payloadHash string) string {
	var b strings.Builder
	b.WriteString(req.method + "\n")
	uri := req.path
	if uri == "" {
		uri = "/"
	}
	b.WriteString(strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(uri) + "\n")
	keys := make([]string, 0, len(req.query))
	for k := range req.query {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var pairs []string
	for _, k := range keys {
		vs := slices.Clone(req.query[k])
		slices.Sort(vs)
		for _, v := range vs {
			pairs = append(pairs, percentEncode(k)+"="+percentEncode(v))
		}
	}
	b.WriteString(strings.Join(pairs, "&") + "\n")
	for _, name := range signedHeaders {
		b.WriteString(name + ":" + headerValue(req, name) + "\n")
	}
	b.WriteString("\n" + strings.Join(signedHeaders, ";") + "\n" + payloadHash)
	return b.String()
}

// headerValue is a header as V3 signs it: trimmed, several values sorted and
// joined by commas. net/http keeps Host apart from the other headers.
func headerValue(req *rpcRequest, name string) string {
	if name == "host" {
		return strings.TrimSpace(req.host)
	}
	vs := req.header.Values(name)
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.TrimSpace(v)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func signV3(secret, stringToSign string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(stringToSign))
	return hex.EncodeToString(mac.Sum(nil))
}

func incompleteSignature(detail string) *apiError {
	return errorf(http.StatusBadRequest, "IncompleteSignature", "The request signature does not conform to Alibaba Cloud standards. %s", detail)
}
