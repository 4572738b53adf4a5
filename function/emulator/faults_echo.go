package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// FaultEchoCredentials, as a FailNext value, answers 400 InvalidParameter
// (a permanent code that is not a credential one, so the message is
// dead-lettered and the letter is checked too) with a message that quotes the
// request's SecurityToken and its key's AccessKeySecret, each raw,
// URL-encoded, JSON-escaped and in base64: the worst an upstream error can
// do, for tests that prove no log line or report repeats a credential.
const FaultEchoCredentials = "echo-credentials"

// writeEchoCredentials answers the FaultEchoCredentials fault for r.
func (s *Server) writeEchoCredentials(w http.ResponseWriter, req *rpcRequest, reqID string) {
	// V1 signs the query; V3 carries the key and token in headers.
	token, keyID := req.params.Get("SecurityToken"), req.params.Get("AccessKeyId")
	if auth := req.header.Get("Authorization"); auth != "" {
		token = req.header.Get("x-acs-security-token")
		if a, aerr := parseV3Authorization(auth); aerr == nil {
			keyID = a.accessKeyID
		}
	}
	secret := s.keys[keyID] // keys never change after New
	var quoted []string
	for _, v := range []struct{ name, value string }{{"SecurityToken", token}, {"AccessKeySecret", secret}} {
		j, _ := json.Marshal(v.value)
		quoted = append(quoted, v.name+" "+v.value+" (url "+url.QueryEscape(v.value)+", json "+string(j[1:len(j)-1])+
			", base64 "+base64.StdEncoding.EncodeToString([]byte(v.value))+")")
	}
	s.writeError(w, reqID, errorf(http.StatusBadRequest, "InvalidParameter",
		"The request is invalid: %s.", strings.Join(quoted, "; ")))
}
