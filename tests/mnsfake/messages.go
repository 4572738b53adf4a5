package mnsfake

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// queue is the state of one queue; guarded by Server.mu.
type queue struct {
	msgs []*message
	// issued maps every receipt handle ever given out to its message id, so
	// that a stale handle (MessageNotExist) can be told from garbage
	// (ReceiptHandleError).
	issued map[string]string
	down   bool
	sends  int
}

type message struct {
	Message
	seq              uint64
	firstDequeueTime time.Time
	handle           string // the only handle currently valid; "" if never received
}

func newQueue() *queue { return &queue{issued: make(map[string]string)} }

// sendEntry is one <Message> of a SendMessage or BatchSendMessage body.
// Pointers tell an absent element from an explicit 0.
type sendEntry struct {
	MessageBody  *string `xml:"MessageBody"`
	DelaySeconds *int64  `xml:"DelaySeconds"`
	Priority     *int64  `xml:"Priority"`
}

type sendBatch struct {
	Messages []sendEntry `xml:"Message"`
}

type sendResult struct {
	XMLName        xml.Name `xml:"Message"`
	ErrorCode      string   `xml:"ErrorCode,omitempty"`
	ErrorMessage   string   `xml:"ErrorMessage,omitempty"`
	MessageID      string   `xml:"MessageId,omitempty"`
	MessageBodyMD5 string   `xml:"MessageBodyMD5,omitempty"`
}

type sendResults struct {
	XMLName  xml.Name     `xml:"Messages"`
	Xmlns    string       `xml:"xmlns,attr"`
	Messages []sendResult `xml:"Message"`
}

type received struct {
	XMLName          xml.Name `xml:"Message"`
	Xmlns            string   `xml:"xmlns,attr,omitempty"`
	MessageID        string   `xml:"MessageId"`
	ReceiptHandle    string   `xml:"ReceiptHandle,omitempty"`
	MessageBodyMD5   string   `xml:"MessageBodyMD5"`
	MessageBody      string   `xml:"MessageBody"`
	EnqueueTime      int64    `xml:"EnqueueTime"`
	NextVisibleTime  int64    `xml:"NextVisibleTime"`
	FirstDequeueTime int64    `xml:"FirstDequeueTime"`
	DequeueCount     int64    `xml:"DequeueCount"`
	Priority         int64    `xml:"Priority"`
}

type receivedBatch struct {
	XMLName  xml.Name   `xml:"Messages"`
	Xmlns    string     `xml:"xmlns,attr"`
	Messages []received `xml:"Message"`
}

type visibilityChanged struct {
	XMLName         xml.Name `xml:"ChangeVisibility"`
	Xmlns           string   `xml:"xmlns,attr"`
	ReceiptHandle   string   `xml:"ReceiptHandle"`
	NextVisibleTime int64    `xml:"NextVisibleTime"`
}

type deleteFailure struct {
	XMLName       xml.Name `xml:"Error"`
	ErrorCode     string   `xml:"ErrorCode"`
	ErrorMessage  string   `xml:"ErrorMessage"`
	ReceiptHandle string   `xml:"ReceiptHandle"`
}

type deleteFailures struct {
	XMLName xml.Name        `xml:"Errors"`
	Xmlns   string          `xml:"xmlns,attr"`
	Errors  []deleteFailure `xml:"Error"`
}

// bodyMD5 is the MessageBodyMD5 the service returns: upper-case hex.
func bodyMD5(body string) string {
	sum := md5.Sum([]byte(body))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// query reads a query parameter case-insensitively: the docs spell them
// receiptHandle/visibilityTimeout, the SDK ReceiptHandle/VisibilityTimeout.
func query(values url.Values, name string) (string, bool) {
	for k, v := range values {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// lookupQueue finds the request's queue; the caller holds s.mu.
func (s *Server) lookupQueue(req *request) (*queue, *apiError) {
	q, ok := s.queues[req.queueName]
	if !ok {
		return nil, errorf(http.StatusNotFound, "QueueNotExist", "The queue name you provided is not exist.")
	}
	return q, nil
}

// signalLocked wakes every long poll; the caller holds s.mu.
func (s *Server) signalLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *Server) createQueue(w http.ResponseWriter, req *request) *apiError {
	s.mu.Lock()
	_, exists := s.queues[req.queueName]
	if !exists {
		s.queues[req.queueName] = newQueue()
	}
	s.mu.Unlock()
	if exists {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.Header().Set("Location", "/queues/"+req.queueName)
	w.WriteHeader(http.StatusCreated)
	return nil
}

// validate applies the service's per-message rules.
func validate(e sendEntry) (body string, delay, priority int64, err *apiError) {
	if e.MessageBody == nil || *e.MessageBody == "" {
		return "", 0, 0, errorf(http.StatusBadRequest, "InvalidArgument", "The MessageBody should not be empty.")
	}
	if len(*e.MessageBody) > maxBodyBytes {
		return "", 0, 0, errorf(http.StatusBadRequest, "InvalidArgument", "The length of MessageBody should not exceed %d bytes.", maxBodyBytes)
	}
	priority = defaultPriority
	if e.Priority != nil {
		priority = *e.Priority
	}
	if priority < 1 || priority > 16 {
		return "", 0, 0, errorf(http.StatusBadRequest, "InvalidArgument", "The value of Priority should between 1 and 16.")
	}
	if e.DelaySeconds != nil {
		delay = *e.DelaySeconds
	}
	if delay < 0 || delay > maxDelaySeconds {
		return "", 0, 0, errorf(http.StatusBadRequest, "InvalidArgument", "The value of DelaySeconds should between 0 and %d.", maxDelaySeconds)
	}
	return *e.MessageBody, delay, priority, nil
}

// enqueueLocked stores one message; the caller holds s.mu.
func (s *Server) enqueueLocked(q *queue, req *request, body string, delay, priority int64) *message {
	now := s.opts.Now()
	s.seq++
	m := &message{
		Message: Message{
			ID:           fmt.Sprintf("%s-1-%X-%09X", s.idPrefix, now.UnixMilli(), s.seq),
			Body:         body,
			Priority:     priority,
			DelaySeconds: delay,
			EnqueueTime:  now,
			VisibleAt:    now.Add(time.Duration(delay) * time.Second),
			AccessKeyID:  req.keyID,
		},
		seq: s.seq,
	}
	q.msgs = append(q.msgs, m)
	return m
}

func (s *Server) sendMessages(w http.ResponseWriter, req *request) *apiError {
	root, err := rootElement(req.body)
	if err != nil {
		return errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed: %v.", err)
	}
	switch root {
	case "Message":
		var e sendEntry
		if err := xml.Unmarshal(req.body, &e); err != nil {
			return errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed: %v.", err)
		}
		body, delay, priority, apiErr := validate(e)
		if apiErr != nil {
			return apiErr
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		q, apiErr := s.lookupQueue(req)
		if apiErr != nil {
			return apiErr
		}
		m := s.enqueueLocked(q, req, body, delay, priority)
		s.signalLocked()
		s.writeXML(w, http.StatusCreated, struct {
			XMLName        xml.Name `xml:"Message"`
			Xmlns          string   `xml:"xmlns,attr"`
			MessageID      string   `xml:"MessageId"`
			MessageBodyMD5 string   `xml:"MessageBodyMD5"`
		}{Xmlns: xmlns, MessageID: m.ID, MessageBodyMD5: bodyMD5(body)})
		return nil
	case "Messages":
		var batch sendBatch
		if err := xml.Unmarshal(req.body, &batch); err != nil {
			return errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed: %v.", err)
		}
		if len(batch.Messages) == 0 || len(batch.Messages) > maxBatch {
			return errorf(http.StatusBadRequest, "InvalidArgument", "A batch holds 1 to %d messages.", maxBatch)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		q, apiErr := s.lookupQueue(req)
		if apiErr != nil {
			return apiErr
		}
		// Valid entries are stored even when others fail (partial success);
		// the failure status for a partial batch is an inference.
		status := http.StatusCreated
		out := sendResults{Xmlns: xmlns}
		for _, e := range batch.Messages {
			body, delay, priority, apiErr := validate(e)
			if apiErr != nil {
				status = http.StatusInternalServerError
				out.Messages = append(out.Messages, sendResult{ErrorCode: apiErr.code, ErrorMessage: apiErr.message})
				continue
			}
			m := s.enqueueLocked(q, req, body, delay, priority)
			out.Messages = append(out.Messages, sendResult{MessageID: m.ID, MessageBodyMD5: bodyMD5(body)})
		}
		s.signalLocked()
		s.writeXML(w, status, out)
		return nil
	}
	return errorf(http.StatusBadRequest, "MalformedXML", "The root element must be Message or Messages, not %q.", root)
}

func rootElement(body []byte) (string, error) {
	dec := xml.NewDecoder(strings.NewReader(string(body)))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return start.Name.Local, nil
		}
	}
}

func (s *Server) receiveMessages(w http.ResponseWriter, req *request) *apiError {
	values := req.r.URL.Query()
	wait := int64(0)
	if v, ok := query(values, "waitseconds"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxWaitSeconds {
			return errorf(http.StatusBadRequest, "InvalidArgument", "The value of waitseconds should between 0 and %d.", maxWaitSeconds)
		}
		wait = n
	}
	batch := false
	count := 1
	if v, ok := query(values, "numOfMessages"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxBatch {
			return errorf(http.StatusBadRequest, "InvalidArgument", "The value of numOfMessages should between 1 and %d.", maxBatch)
		}
		batch, count = true, n
	}
	peek := false
	if v, ok := query(values, "peekonly"); ok {
		peek = strings.EqualFold(v, "true")
	}

	deadline := time.NewTimer(time.Duration(wait) * time.Second)
	defer deadline.Stop()
	// Delays and visibility timeouts end on the (possibly fake) clock with
	// no event to wake on, so a long poll also re-checks periodically.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		q, apiErr := s.lookupQueue(req)
		if apiErr != nil {
			s.mu.Unlock()
			return apiErr
		}
		got := s.takeLocked(q, count, peek)
		wake := s.wake
		s.mu.Unlock()

		if len(got) > 0 {
			if batch {
				s.writeXML(w, http.StatusOK, receivedBatch{Xmlns: xmlns, Messages: got})
			} else {
				got[0].Xmlns = xmlns
				s.writeXML(w, http.StatusOK, got[0])
			}
			return nil
		}
		if wait == 0 {
			return errorf(http.StatusNotFound, "MessageNotExist", "Message not exist.")
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-deadline.C:
			wait = 0 // one last look, then MessageNotExist
		case <-req.r.Context().Done():
			return nil // the client is gone; nothing was taken
		}
	}
}

// takeLocked picks up to n visible messages, best priority (lowest number)
// first, then oldest; unless peeking it makes them invisible and gives each a
// fresh receipt handle. The caller holds s.mu.
func (s *Server) takeLocked(q *queue, n int, peek bool) []received {
	now := s.opts.Now()
	var visible []*message
	for _, m := range q.msgs {
		if !now.Before(m.VisibleAt) {
			visible = append(visible, m)
		}
	}
	sort.SliceStable(visible, func(i, j int) bool {
		if visible[i].Priority != visible[j].Priority {
			return visible[i].Priority < visible[j].Priority
		}
		return visible[i].seq < visible[j].seq
	})
	if len(visible) > n {
		visible = visible[:n]
	}
	out := make([]received, 0, len(visible))
	for _, m := range visible {
		if !peek {
			m.DequeueCount++
			if m.firstDequeueTime.IsZero() {
				m.firstDequeueTime = now
			}
			m.VisibleAt = now.Add(s.opts.VisibilityTimeout)
			m.handle = s.newHandleLocked(q, m)
		}
		handle := m.handle
		if peek {
			handle = "" // a peek hands out no handle
		}
		out = append(out, received{
			MessageID:        m.ID,
			ReceiptHandle:    handle,
			MessageBodyMD5:   bodyMD5(m.Body),
			MessageBody:      m.Body,
			EnqueueTime:      millis(m.EnqueueTime),
			NextVisibleTime:  millis(m.VisibleAt),
			FirstDequeueTime: millis(m.firstDequeueTime),
			DequeueCount:     m.DequeueCount,
			Priority:         m.Priority,
		})
	}
	return out
}

// newHandleLocked issues a receipt handle. Handles are opaque base64 (so they
// contain '+', '/' and '=' and exercise the SDK's query escaping).
func (s *Server) newHandleLocked(q *queue, m *message) string {
	s.seq++
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	h := fmt.Sprintf("%X-%s", s.seq, base64.StdEncoding.EncodeToString(b[:]))
	q.issued[h] = m.ID
	return h
}

// checkHandleLocked finds the message a handle currently refers to. A handle
// that was issued but superseded, or whose visibility has ended, gives
// MessageNotExist; one never issued by this queue gives ReceiptHandleError.
func (s *Server) checkHandleLocked(q *queue, handle string) (*message, *apiError) {
	if _, ok := q.issued[handle]; !ok {
		return nil, errorf(http.StatusBadRequest, "ReceiptHandleError", "The receipt handle you provided is not valid.")
	}
	now := s.opts.Now()
	for _, m := range q.msgs {
		if m.handle == handle && now.Before(m.VisibleAt) {
			return m, nil
		}
	}
	return nil, errorf(http.StatusNotFound, "MessageNotExist", "Message not exist or the receipt handle has expired.")
}

func (s *Server) deleteMessages(w http.ResponseWriter, req *request) *apiError {
	handle, single := query(req.r.URL.Query(), "ReceiptHandle")
	var handles []string
	if single {
		handles = []string{handle}
	} else if len(req.body) > 0 {
		var batch struct {
			Handles []string `xml:"ReceiptHandle"`
		}
		if err := xml.Unmarshal(req.body, &batch); err != nil {
			return errorf(http.StatusBadRequest, "MalformedXML", "The XML you provided was not well-formed: %v.", err)
		}
		if len(batch.Handles) == 0 || len(batch.Handles) > maxBatch {
			return errorf(http.StatusBadRequest, "InvalidArgument", "A batch holds 1 to %d receipt handles.", maxBatch)
		}
		handles = batch.Handles
	}
	if len(handles) == 0 || (single && handles[0] == "") {
		return errorf(http.StatusBadRequest, "MissingReceiptHandle", "The receipt handle is missing.")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	q, apiErr := s.lookupQueue(req)
	if apiErr != nil {
		return apiErr
	}
	failures := deleteFailures{Xmlns: xmlns}
	for _, h := range handles {
		m, apiErr := s.checkHandleLocked(q, h)
		if apiErr != nil {
			if single {
				return apiErr
			}
			failures.Errors = append(failures.Errors, deleteFailure{ErrorCode: apiErr.code, ErrorMessage: apiErr.message, ReceiptHandle: h})
			continue
		}
		q.remove(m)
	}
	if len(failures.Errors) > 0 {
		// Partial batch failure: status inferred, body as the SDK decodes it.
		s.writeXML(w, http.StatusNotFound, failures)
		return nil
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (q *queue) remove(target *message) {
	for i, m := range q.msgs {
		if m == target {
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			return
		}
	}
}

func (s *Server) changeVisibility(w http.ResponseWriter, req *request) *apiError {
	values := req.r.URL.Query()
	handle, ok := query(values, "ReceiptHandle")
	if !ok || handle == "" {
		return errorf(http.StatusBadRequest, "MissingReceiptHandle", "The receipt handle is missing.")
	}
	v, ok := query(values, "VisibilityTimeout")
	if !ok || v == "" {
		return errorf(http.StatusBadRequest, "MissingVisibilityTimeout", "The visibility timeout is missing.")
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil || secs < 1 || secs > maxVisibilitySecs {
		return errorf(http.StatusBadRequest, "InvalidArgument", "The value of VisibilityTimeout should between 1 and %d.", maxVisibilitySecs)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	q, apiErr := s.lookupQueue(req)
	if apiErr != nil {
		return apiErr
	}
	m, apiErr := s.checkHandleLocked(q, handle)
	if apiErr != nil {
		return apiErr
	}
	// The new timeout counts from now, and the old handle stops working.
	m.VisibleAt = s.opts.Now().Add(time.Duration(secs) * time.Second)
	m.handle = s.newHandleLocked(q, m)
	s.signalLocked()
	s.writeXML(w, http.StatusOK, visibilityChanged{Xmlns: xmlns, ReceiptHandle: m.handle, NextVisibleTime: millis(m.VisibleAt)})
	return nil
}
