package main

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"time"
)

// request is one line of the emulator's request log (emulator.Options.Log),
// stamped with the time the line arrived.
type request struct {
	at     time.Time
	action string
	params map[string]string
	status int    // 0 when nothing was answered (a reset, a client gone)
	code   string // "" when the call succeeded
}

// throttled reports whether the answer was one of ECS's flow-control codes.
func (r request) throttled() bool { return strings.HasPrefix(r.code, "Throttling") }

// probe is the emulator's log writer: it keeps every request the emulator
// answered, so a scenario can count them by action, by answer and by the
// parameters that matter (a family listing is a DescribeImages with
// ImageFamily). The emulator writes one whole line per Write.
type probe struct {
	mu      sync.Mutex
	reqs    []request
	partial []byte
}

func (p *probe) Write(b []byte) (int, error) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		if r, ok := parseLine(string(p.partial[:i])); ok {
			r.at = now
			p.reqs = append(p.reqs, r)
		}
		p.partial = p.partial[i+1:]
	}
	return len(b), nil
}

// requests returns a copy of what was logged since the last reset.
func (p *probe) requests() []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]request(nil), p.reqs...)
}

func (p *probe) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs, p.partial = nil, nil
}

// parseLine reads one log line of the emulator:
//
//	09:05:15.123 v1 DescribeImages ImageFamily=web PageNumber=1 -> 200 OK 1.1ms
//	09:05:15.123 v1 ModifyImageAttribute ImageId=m-1 Status=Deprecated -> 400 Throttling.User 0.2ms
//	09:05:15.123 v1 ModifyImageAttribute ImageId=m-1 -> connection reset 0.1ms
//
// Values with spaces or quotes are Go-quoted; long ones end in "...".
func parseLine(line string) (request, bool) {
	head, tail, ok := cutLast(line, " -> ")
	if !ok {
		return request{}, false
	}
	fields := strings.SplitN(head, " ", 3) // time, signature, action and params
	if len(fields) < 3 {
		return request{}, false
	}
	r := request{params: map[string]string{}}
	rest, unnamed := strings.CutPrefix(fields[2], "(no action)")
	if !unnamed {
		r.action, rest, _ = strings.Cut(fields[2], " ")
	}
	if rest = strings.TrimPrefix(rest, " "); rest != "" {
		r.params = parseParams(rest)
	}
	answer := strings.Fields(tail)
	if len(answer) >= 2 {
		if status, err := strconv.Atoi(answer[0]); err == nil {
			r.status = status
			if answer[1] != "OK" {
				r.code = answer[1]
			}
			return r, true
		}
	}
	r.code = "no-answer" // "connection reset", "client gone before the slow answer"
	return r, true
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// parseParams reads "K=V K=\"v w\" ..." as the emulator writes it.
func parseParams(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				break
			}
			v, _ = strconv.Unquote(q)
			rest = rest[len(q):]
		} else {
			v, rest, _ = strings.Cut(rest, " ")
			rest = " " + rest
		}
		out[k] = v
		s = strings.TrimPrefix(rest, " ")
	}
	return out
}

// tally counts requests.
type tally struct {
	total, throttled, failed int // failed: any other error answer, or none
	byAction                 map[string]int
	familyListings           int // DescribeImages of a family, counted once per listing (page 1)
	familyPages, idReads     int // DescribeImages of a family (every page), and by ImageId
	writesOK                 int // ModifyImageAttribute answered 200
	changed                  map[string]bool
}

func count(reqs []request) tally {
	t := tally{byAction: map[string]int{}, changed: map[string]bool{}}
	for _, r := range reqs {
		t.total++
		t.byAction[r.action]++
		switch {
		case r.throttled():
			t.throttled++
		case r.code != "":
			t.failed++
		}
		if r.action == "DescribeImages" {
			t.describe(r)
		}
		if r.action == "ModifyImageAttribute" && r.code == "" {
			t.writesOK++
			t.changed[r.params["ImageId"]] = true
		}
	}
	return t
}

// describe sorts a DescribeImages into a family read (one listing per
// first page) or a read by id.
func (t *tally) describe(r request) {
	switch {
	case r.params["ImageFamily"] != "":
		t.familyPages++
		if page := r.params["PageNumber"]; page == "" || page == "1" {
			t.familyListings++
		}
	case r.params["ImageId"] != "":
		t.idReads++
	}
}
