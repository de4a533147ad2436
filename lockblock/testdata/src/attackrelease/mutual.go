package attackrelease

import "sync"

type E struct {
	mu     sync.Mutex
	ch     chan int
	ack    chan int
	failed bool
	closed bool
}

// flush is called with e.mu held. It lets e.mu go around the send and
// takes it back; a failed connection is closed, and otherwise flush waits
// for the peer's ack holding e.mu again.
func (e *E) flush() {
	e.mu.Unlock()
	e.ch <- 1
	e.mu.Lock()
	if e.failed && !e.closed {
		e.closeLocked() // want `call to attackrelease.E.closeLocked, which may block \(channel receive at mutual.go:24\) while e.mu may be held`
		return
	}
	<-e.ack // want `channel receive while e.mu may be held`
}

// closeLocked is called with e.mu held; it flushes what is left, and
// flush then waits for the ack holding e.mu.
func (e *E) closeLocked() {
	e.closed = true
	e.flush()
}

func (e *E) useFlush() {
	e.mu.Lock()
	e.flush() // want `call to attackrelease.E.flush, which may block \(channel receive at mutual.go:24\) while e.mu may be held`
	e.mu.Unlock()
}

func (e *E) useClose() {
	e.mu.Lock()
	e.closeLocked() // want `call to attackrelease.E.closeLocked, which may block \(channel receive at mutual.go:24\) while e.mu may be held`
	e.mu.Unlock()
}
