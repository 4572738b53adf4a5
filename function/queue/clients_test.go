package queue

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecs-image-lifecycle/image-lifecycle/function/credential"
)

// BenchmarkClientForCredentials measures what finding the SDK client for a
// send's credentials costs: the same credentials as the last send (an FC
// instance between rotations), and a new set every time (the worst case).
func BenchmarkClientForCredentials(b *testing.B) {
	q, err := New(Config{Endpoint: "http://127.0.0.1:1", RetryQueue: "retry", MaxAttempts: 20, MaxMessageAge: time.Hour,
		Credentials: &credential.Credentials{AccessKeyID: "ak", AccessKeySecret: "sk"}})
	if err != nil {
		b.Fatal(err)
	}
	same := credential.Credentials{AccessKeyID: "STS.A", AccessKeySecret: "a", SecurityToken: "t"}
	b.Run("same", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := q.clients.get(same); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rotated", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, err := q.clients.get(credential.Credentials{AccessKeyID: fmt.Sprint("STS.", i), AccessKeySecret: "a", SecurityToken: "t"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestClientsKeepTheLatestFew(t *testing.T) {
	t.Parallel()
	q, err := New(Config{Endpoint: "http://127.0.0.1:1", RetryQueue: "retry", MaxAttempts: 20, MaxMessageAge: time.Hour,
		Credentials: &credential.Credentials{AccessKeyID: "ak", AccessKeySecret: "fallback-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	set := func(i int) credential.Credentials {
		return credential.Credentials{AccessKeyID: fmt.Sprint("STS.", i), AccessKeySecret: "invocation-secret", SecurityToken: "t"}
	}
	first, _ := q.clients.get(set(0))
	if again, _ := q.clients.get(set(0)); again != first {
		t.Fatal("the same credentials got a second client")
	}
	for i := 1; i <= 2*keptClients; i++ {
		if _, err := q.clients.get(set(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(q.clients.byCreds); n != keptClients || len(q.clients.order) != keptClients {
		t.Fatalf("%d clients kept (%d in order), want %d", n, len(q.clients.order), keptClients)
	}
	if s := fmt.Sprintf("%+v %#v %v", q, q, *q); strings.Contains(s, "secret") {
		t.Fatalf("printing a Queue shows a secret: %s", s)
	}
}
