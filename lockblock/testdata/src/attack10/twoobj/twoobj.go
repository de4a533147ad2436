// Package twoobj: room made in one value's channel, the send into another's.
package twoobj

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) Signal(o *T) { // want Signal:`mayBlock\(channel send`
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	o.ch <- 1 // want `channel send while o\.mu may be held`
}
