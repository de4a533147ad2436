// Package threelocks: three senders holding {mu, mu2}, {mu2} and {mu}: no lock common to all.
package threelocks

import "sync"

type T struct {
	mu, mu2 sync.Mutex
	ch      chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) room() {
}

func (t *T) A() { // want A:`mayBlock\(channel send`
	t.mu.Lock()
	t.mu2.Lock()
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 1 // want `channel send while t\.mu`
	t.mu2.Unlock()
	t.mu.Unlock()
}

func (t *T) B() { // want B:`mayBlock\(channel send`
	t.mu2.Lock()
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 1 // want `channel send while t\.mu2 may be held`
	t.mu2.Unlock()
}

func (t *T) C() { // want C:`mayBlock\(channel send`
	t.mu.Lock()
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 1 // want `channel send while t\.mu may be held`
	t.mu.Unlock()
}
