package chaos

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"
)

// delivery is one MNS message as the trigger hands it to the function.
type delivery struct {
	id     string // the MNS message id
	body   string
	base64 bool
}

// batch is one invocation's worth of deliveries and its payload.
type batch struct {
	deliveries []delivery
	payload    []byte
	again      bool // a redelivery of a batch whose invocation failed
}

// trigger plays FC's MNS trigger in event-streaming mode (EventBridge between
// the queue and the function): it takes visible messages in batches of 1 to
// 10 - from anywhere near the head of the queue, so they arrive re-ordered -,
// delivers 5% of them a second time later, and delivers a batch whose
// invocation failed again, whole. Time is counted in ticks, one per
// invocation; a message sent with a delay becomes visible some ticks later.
type trigger struct {
	rng        *rand.Rand
	tick       int
	ready      []delivery
	visibleAt  map[int][]delivery // tick -> messages that become visible then
	failed     []scheduledBatch   // batches to deliver again
	events     int                // CloudEvent ids
	duplicates int
}

type scheduledBatch struct {
	at int
	b  batch
}

// Shares and sizes of the delivery.
const (
	maxBatch       = 10   // the MNS trigger's batch size
	shareDuplicate = 0.05 // deliveries made twice
	maxDelayTicks  = 8    // a delay of 30 s * 2^k waits 2^k ticks, at most this many
)

func newTrigger(seed uint64) *trigger {
	return &trigger{rng: rand.New(rand.NewPCG(seed, 0x7219)), visibleAt: map[int][]delivery{}}
}

// publish makes d visible after delaySeconds, compressed: 30 s (the
// function's first retry delay) is one tick, doubling as the delays do.
func (tr *trigger) publish(d delivery, delaySeconds int64) {
	ticks := 0
	for s := int64(30); s <= delaySeconds && ticks < maxDelayTicks; s *= 2 {
		ticks = max(1, ticks*2)
	}
	tr.visibleAt[tr.tick+ticks] = append(tr.visibleAt[tr.tick+ticks], d)
}

// pending reports whether anything is left to deliver.
func (tr *trigger) pending() bool {
	return len(tr.ready) > 0 || len(tr.visibleAt) > 0 || len(tr.failed) > 0
}

// next returns the next batch to deliver, letting ticks pass while nothing is
// visible yet; ok is false when nothing is left at all.
func (tr *trigger) next() (b batch, ok bool) {
	for tr.pending() {
		for _, t := range slices.Sorted(maps.Keys(tr.visibleAt)) { // sorted: the seed decides, not the map
			if t <= tr.tick {
				tr.ready = append(tr.ready, tr.visibleAt[t]...)
				delete(tr.visibleAt, t)
			}
		}
		for i, f := range tr.failed {
			if f.at <= tr.tick {
				tr.failed = append(tr.failed[:i], tr.failed[i+1:]...)
				return f.b, true
			}
		}
		if len(tr.ready) > 0 {
			return tr.take(), true
		}
		tr.tick++ // nothing visible yet: time passes
	}
	return batch{}, false
}

// take picks a new batch near the head of the queue.
func (tr *trigger) take() batch {
	size := 1 + tr.rng.IntN(maxBatch)
	var b batch
	for len(b.deliveries) < size && len(tr.ready) > 0 {
		i := tr.rng.IntN(min(len(tr.ready), 3*maxBatch))
		d := tr.ready[i]
		tr.ready = append(tr.ready[:i], tr.ready[i+1:]...)
		b.deliveries = append(b.deliveries, d)
		if tr.rng.Float64() < shareDuplicate {
			tr.duplicates++
			at := tr.tick + 1 + tr.rng.IntN(15)
			tr.visibleAt[at] = append(tr.visibleAt[at], d)
		}
	}
	b.payload = tr.payload(b.deliveries)
	return b
}

// deliverAgain schedules a failed batch for another delivery, as it was.
func (tr *trigger) deliverAgain(b batch) {
	b.again = true
	tr.failed = append(tr.failed, scheduledBatch{at: tr.tick + 1 + tr.rng.IntN(3), b: b})
}

// cloudEvent is one element of an event-streaming MNS trigger payload, in the
// shape of events/triggers/mns-stream-batch.json.
type cloudEvent struct {
	ID                      string    `json:"id"`
	Source                  string    `json:"source"`
	SpecVersion             string    `json:"specversion"`
	Type                    string    `json:"type"`
	DataContentType         string    `json:"datacontenttype"`
	Subject                 string    `json:"subject"`
	Time                    string    `json:"time"`
	AliyunAccountID         string    `json:"aliyunaccountid"`
	AliyunPublishTime       string    `json:"aliyunpublishtime"`
	AliyunOriginalAccountID string    `json:"aliyunoriginalaccountid"`
	AliyunEventBusName      string    `json:"aliyuneventbusname"`
	AliyunRegionID          string    `json:"aliyunregionid"`
	AliyunPublishAddr       string    `json:"aliyunpublishaddr"`
	Data                    eventData `json:"data"`
}

type eventData struct {
	RequestID   string `json:"requestId"`
	MessageID   string `json:"messageId"`
	MessageBody string `json:"messageBody"`
}

func (tr *trigger) payload(ds []delivery) []byte {
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	events := make([]cloudEvent, len(ds))
	for i, d := range ds {
		tr.events++
		body := d.body
		if d.base64 {
			body = base64.StdEncoding.EncodeToString([]byte(body))
		}
		events[i] = cloudEvent{
			ID: fmt.Sprintf("chaos-event-%08d", tr.events), Source: "MNS-image-lifecycle-mns-trigger", SpecVersion: "1.0",
			Type: "mns:Queue:SendMessage", DataContentType: "application/json; charset=utf-8",
			Subject: "acs:mns:cn-hangzhou:1234567890123456:queues/" + retryQueue, Time: now,
			AliyunAccountID: "1234567890123456", AliyunPublishTime: now, AliyunOriginalAccountID: "1234567890123456",
			AliyunEventBusName: "MNS-image-lifecycle-mns-trigger", AliyunRegionID: "cn-hangzhou", AliyunPublishAddr: "127.0.0.1",
			Data: eventData{RequestID: fmt.Sprintf("CHAOS%019d", tr.events), MessageID: d.id, MessageBody: body},
		}
	}
	b, err := json.Marshal(events)
	if err != nil {
		panic(err) // plain strings
	}
	return b
}
