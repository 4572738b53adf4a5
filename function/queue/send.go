package queue

import (
	"context"
	"fmt"
	"regexp"

	ali_mns "github.com/aliyun/aliyun-mns-go-sdk"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
)

// Codes for failures that carry no MNS error code.
const (
	// CodeSendRequestFailed: the request did not get an answer (connection
	// refused or closed, dial or read timeout).
	CodeSendRequestFailed = "SendRequestFailed"
	// CodeInvalidResponse: the answer was not MNS XML, e.g. a proxy's 502 or
	// 503 page.
	CodeInvalidResponse = "InvalidResponse"
	// CodeAbandoned: the context ended before MNS answered.
	CodeAbandoned = "Abandoned"
	// CodeUnknown: an SDK error this package does not recognise.
	CodeUnknown = "Unknown"
)

// Error is a failed send to MNS. Whatever the code, the message was not
// settled, so the caller fails the invocation and the platform redelivers it.
// Its text never holds credentials: the SDK's errors name the resource, the
// request id and the host, not the keys.
type Error struct {
	// Op is "defer" or "dead-letter".
	Op string
	// Queue is the queue the message was sent to.
	Queue string
	// Code is the MNS error code ("QueueNotExist", "AccessDenied",
	// "InvalidAccessKeyId", ...), one of the Code* constants of this package,
	// or credential.CodeNotFound when there were no credentials to sign with.
	Code string
	// Err is the SDK's error, or the context's.
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("queue: %s to MNS queue %q failed: %s: %v", e.Op, e.Queue, e.Code, e.Err)
}

// Unwrap returns the underlying error (context.DeadlineExceeded for an
// abandoned send).
func (e *Error) Unwrap() error { return e.Err }

// send enqueues one message and returns its MNS id.
//
// The SDK call takes no context, so it runs in its own goroutine and send
// returns when ctx ends. The abandoned call is not stopped: it runs until MNS
// answers or the SDK's TimeoutSeconds (plus fasthttp's 3 s dial timeout)
// gives up, and its result is dropped. It may therefore still enqueue the
// message; the platform then redelivers the original too, and the copy is
// recognisable by its retry.messageId (at-least-once, as MNS itself is).
func (q *Queue) send(ctx context.Context, op, queueName, body string, delaySeconds int64) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", &Error{Op: op, Queue: queueName, Code: CodeAbandoned, Err: err}
	}
	creds, err := q.credentials(ctx)
	if err != nil {
		return "", &Error{Op: op, Queue: queueName, Code: credential.CodeNotFound, Err: err}
	}
	client, err := q.clients.get(creds)
	if err != nil {
		code := credential.Code(err)
		if code == "" {
			code = CodeUnknown
		}
		return "", &Error{Op: op, Queue: queueName, Code: code, Err: err}
	}
	type result struct {
		id  string
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned call must not block
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("the MNS SDK panicked: %v", r)}
			}
		}()
		// One queue object per send: the SDK's QPS monitor is not safe to
		// share between goroutines.
		resp, err := ali_mns.NewMNSQueue(queueName, client).SendMessage(ali_mns.MessageSendRequest{
			MessageBody:  body,
			DelaySeconds: delaySeconds,
			Priority:     Priority,
		})
		done <- result{id: resp.MessageId, err: err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", &Error{Op: op, Queue: queueName, Code: codeOf(r.err), Err: r.err}
		}
		if r.id == "" {
			return "", &Error{Op: op, Queue: queueName, Code: CodeInvalidResponse, Err: fmt.Errorf("MNS accepted the message but returned no MessageId")}
		}
		return r.id, nil
	case <-ctx.Done():
		return "", &Error{Op: op, Queue: queueName, Code: CodeAbandoned,
			Err: fmt.Errorf("gave up waiting for MNS, the send may still complete: %w", ctx.Err())}
	}
}

// sdkCodes maps the SDK's error templates to MNS codes. The SDK's errors have
// no Unwrap and keep the raw code only in their text, so matching the
// template is the reliable way (mns.md 1.4).
var sdkCodes = []struct {
	is   func(error) bool
	code string
}{
	{ali_mns.ERR_SEND_REQUEST_FAILED.IsEqual, CodeSendRequestFailed},
	{ali_mns.ERR_UNMARSHAL_ERROR_RESPONSE_FAILED.IsEqual, CodeInvalidResponse},
	{ali_mns.ERR_UNMARSHAL_RESPONSE_FAILED.IsEqual, CodeInvalidResponse},
	{ali_mns.ERR_MNS_QUEUE_NOT_EXIST.IsEqual, "QueueNotExist"},
	{ali_mns.ERR_MNS_ACCESS_DENIED.IsEqual, "AccessDenied"},
	{ali_mns.ERR_MNS_INVALID_ACCESS_KEY_ID.IsEqual, "InvalidAccessKeyId"},
	{ali_mns.ERR_MNS_SIGNATURE_DOES_NOT_MATCH.IsEqual, "SignatureDoesNotMatch"},
	{ali_mns.ERR_MNS_TIME_EXPIRED.IsEqual, "TimeExpired"},
	{ali_mns.ERR_MNS_INVALID_ARGUMENT.IsEqual, "InvalidArgument"},
	{ali_mns.ERR_MNS_MALFORMED_XML.IsEqual, "MalformedXML"},
	{ali_mns.ERR_MNS_INTERNAL_ERROR.IsEqual, "InternalError"},
	{ali_mns.ERR_MNS_QPS_LIMIT_EXCEEDED.IsEqual, "QpsLimitExceeded"},
}

// unknownCode finds the code in the text of an ERR_MNS_UNKNOWN_CODE error:
// "ali_mns response status error,code: X, message: ...".
var unknownCode = regexp.MustCompile(`code: ([A-Za-z0-9.]+),`)

// codeOf names the MNS code of a failed send, for the report and the log. It
// decides nothing: a send is never retried here, and whatever its code, a
// message whose send failed is failed and delivered again (what an error is
// worth is retry.Classify's to say, for the calls to ECS).
func codeOf(err error) string {
	for _, c := range sdkCodes {
		if c.is(err) {
			return c.code
		}
	}
	if m := unknownCode.FindStringSubmatch(err.Error()); m != nil {
		return m[1]
	}
	return CodeUnknown
}
