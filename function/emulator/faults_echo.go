package emulator

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// FaultEchoCredentials, as a FailNext value, answers 400
// InvalidSecurityToken.MismatchWithAccessKey with a message that quotes the
// request's SecurityToken and its key's AccessKeySecret, each raw,
// URL-encoded, JSON-escaped and in base64: the worst an upstream error can
// do, for tests that prove no log line or report repeats a credential.
const FaultEchoCredentials = "echo-credentials"

// writeEchoCredentials answers the FaultEchoCredentials fault for r.
func (s *Server) writeEchoCredentials(w http.ResponseWriter, r *http.Request, reqID string) {
	token := r.Form.Get("SecurityToken")
	secret := s.keys[r.Form.Get("AccessKeyId")] // keys never change after New
	var quoted []string
	for _, v := range []struct{ name, value string }{{"SecurityToken", token}, {"AccessKeySecret", secret}} {
		j, _ := json.Marshal(v.value)
		quoted = append(quoted, v.name+" "+v.value+" (url "+url.QueryEscape(v.value)+", json "+string(j[1:len(j)-1])+
			", base64 "+base64.StdEncoding.EncodeToString([]byte(v.value))+")")
	}
	s.writeError(w, reqID, errorf(http.StatusBadRequest, "InvalidSecurityToken.MismatchWithAccessKey",
		"Specified SecurityToken mismatch with the AccessKey: %s.", strings.Join(quoted, "; ")))
}
