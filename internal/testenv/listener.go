package testenv

import (
	"net"
	"sync/atomic"
)

// CountingListener counts the TCP connections its listener accepts: how a
// test or the benchmark sees how many connections a client opened.
type CountingListener struct {
	net.Listener
	accepted atomic.Int64
}

// Accept accepts a connection and counts it.
func (l *CountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// Accepted is how many connections were accepted so far.
func (l *CountingListener) Accepted() int64 { return l.accepted.Load() }

// Reset starts the count again from 0.
func (l *CountingListener) Reset() { l.accepted.Store(0) }
