// Package reassign: the receiver is reassigned between the room and the send.
package reassign

import "sync"

type T struct {
	mu   sync.Mutex
	ch   chan int
	next *T
}

func New() *T { t := &T{ch: make(chan int, 1)}; t.next = t; return t }

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t = t.next
	t.ch <- 1 // want `channel send while t\.mu may be held`
}
