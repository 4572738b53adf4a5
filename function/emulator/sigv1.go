package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// authenticateV1 checks a SignatureVersion 1.0 (HMAC-SHA1) request, the
// signature of alibaba-cloud-sdk-go and of the Tea SDKs' "v2" algorithm: the
// protocol parameters, the key, the signature, then the token, timestamp and
// nonce.
func (s *Server) authenticateV1(req *rpcRequest) (action string, aerr *apiError) {
	f := req.params
	action = f.Get("Action")
	for _, name := range []string{"Action", "Version", "AccessKeyId", "Signature", "SignatureMethod",
		"SignatureVersion", "SignatureNonce", "Timestamp"} {
		if f.Get(name) == "" {
			return action, missing(name)
		}
	}
	if v := f.Get("Version"); v != apiVersion {
		return action, errorf(http.StatusBadRequest, "InvalidVersion", "Specified parameter Version is not valid: %q.", v)
	}
	if m := f.Get("SignatureMethod"); m != "HMAC-SHA1" {
		return action, errorf(http.StatusBadRequest, "InvalidParameter", "The specified parameter SignatureMethod is not valid: %q.", m)
	}
	if v := f.Get("SignatureVersion"); v != "1.0" {
		return action, errorf(http.StatusBadRequest, "InvalidParameter", "The specified parameter SignatureVersion is not valid: %q.", v)
	}
	secret, ok := s.keys[f.Get("AccessKeyId")]
	if !ok {
		return action, unknownKey()
	}
	sts := stringToSign(req.method, f)
	if !hmac.Equal([]byte(sign(secret, sts)), []byte(f.Get("Signature"))) {
		// alibaba-cloud-sdk-go compares the text after "server string to
		// sign is:" with its own to tell a wrong secret from an SDK bug.
		return action, errorf(http.StatusBadRequest, "SignatureDoesNotMatch",
			"Specified signature is not matched with our calculation. server string to sign is:%s", sts)
	}
	return action, s.checkReplay(f.Get("SecurityToken"), f.Get("Timestamp"), f.Get("SignatureNonce"))
}

// stringToSign is SignatureVersion 1.0's canonical form: every parameter but
// Signature, empty ones included, sorted, RFC 3986 encoded.
func stringToSign(method string, f url.Values) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = percentEncode(k) + "=" + percentEncode(f.Get(k))
	}
	return method + "&" + percentEncode("/") + "&" + percentEncode(strings.Join(pairs, "&"))
}

// percentEncode is RFC 3986 encoding as both signatures use it: a space is
// %20 (never +), * is %2A, ~ stays.
func percentEncode(s string) string {
	return strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~").Replace(url.QueryEscape(s))
}

func sign(secret, stringToSign string) string {
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	mac.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
