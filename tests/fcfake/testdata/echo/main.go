// Command echo is a go1 function for fcfake's own tests: it echoes its payload
// with what the runtime API told it, fails or panics when the payload asks, and
// can sleep so that invocations overlap.
package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
	"github.com/aliyun/fc-runtime-go-sdk/fccontext"
)

// request is what a payload may ask for; any other payload is just echoed.
type request struct {
	Fail  string `json:"fail"`
	Panic string `json:"panic"`
	Sleep string `json:"sleep"` // a Go duration
}

// reply is the echo: the payload and the invocation context the SDK built.
type reply struct {
	Payload         string `json:"payload"`
	RequestID       string `json:"requestId"`
	Region          string `json:"region"`
	AccountID       string `json:"accountId"`
	FunctionName    string `json:"functionName"`
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
	SecurityToken   string `json:"securityToken"`
	TimeoutSeconds  int    `json:"timeoutSeconds"`
	DeadlineMillis  int64  `json:"deadlineMillis"`
}

// EchoError is returned on request; the SDK reports its type name as errorType.
type EchoError struct{ Message string }

func (e *EchoError) Error() string { return e.Message }

func handle(ctx context.Context, payload []byte) (reply, error) {
	var req request
	_ = json.Unmarshal(payload, &req) // not every payload is a request
	if req.Panic != "" {
		panic(req.Panic)
	}
	if req.Fail != "" {
		return reply{}, &EchoError{Message: req.Fail}
	}
	if d, err := time.ParseDuration(req.Sleep); err == nil {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return reply{}, ctx.Err()
		}
	}
	r := reply{Payload: string(payload)}
	if fctx, ok := fccontext.FromContext(ctx); ok {
		r.RequestID, r.Region, r.AccountID = fctx.RequestID, fctx.Region, fctx.AccountId
		r.FunctionName, r.TimeoutSeconds = fctx.Function.Name, fctx.Function.Timeout
		r.AccessKeyID, r.AccessKeySecret, r.SecurityToken = fctx.Credentials.AccessKeyId, fctx.Credentials.AccessKeySecret, fctx.Credentials.SecurityToken
	}
	if dl, ok := ctx.Deadline(); ok {
		r.DeadlineMillis = dl.UnixMilli()
	}
	return r, nil
}

func main() { fc.Start(handle) }
