package emulator

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// maxBodyBytes bounds a request body. ECS parameters fit in a few KiB; the
// whole body is read because V3 signs its SHA-256.
const maxBodyBytes = 1 << 20

// rpcRequest is one RPC call as it arrived, with what either signature covers.
type rpcRequest struct {
	method string
	host   string // the Host header, which V3 signs as "host"
	path   string // escaped path, V3's canonical URI
	header http.Header
	query  url.Values // the decoded query alone: V3 signs it apart from the body
	params url.Values // form body, then query: every parameter, as net/http's Request.Form orders them
	body   []byte
}

// readRequest reads the body (bounded) and parses the parameters.
func readRequest(w http.ResponseWriter, r *http.Request) (*rpcRequest, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(http.StatusBadRequest, "InvalidParameter", "The request body is larger than %d bytes.", maxBodyBytes)
		}
		return nil, errorf(http.StatusBadRequest, "InvalidParameter", "The request body cannot be read: %v", err)
	}
	return parseRequest(r.Method, r.Host, r.URL.EscapedPath(), r.URL.RawQuery, r.Header, body)
}

// parseRequest takes the parameters from the query and, when the body is a
// form, from the body too: the Tea SDKs put RPC parameters in the query, other
// clients may post them as a form. It does no I/O, so it can be fuzzed.
func parseRequest(method, host, path, rawQuery string, header http.Header, body []byte) (*rpcRequest, *apiError) {
	if method != http.MethodPost && method != http.MethodGet {
		return nil, errorf(http.StatusMethodNotAllowed, "UnsupportedHTTPMethod", "This http method %s is not supported.", method)
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "InvalidParameter", "The query string cannot be parsed: %v", err)
	}
	params := url.Values{}
	if ct, _, _ := mime.ParseMediaType(header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" && len(body) > 0 {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "InvalidParameter", "The form body cannot be parsed: %v", err)
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	for k, vs := range query {
		params[k] = append(params[k], vs...)
	}
	return &rpcRequest{method: method, host: host, path: path, header: header, query: query, params: params, body: body}, nil
}
