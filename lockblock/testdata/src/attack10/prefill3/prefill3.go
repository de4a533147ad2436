// Package prefill3: a helper of the package swaps in a filled channel.
package prefill3

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) reset() {
	ch := make(chan int, 1)
	ch <- 0
	t.ch = ch
}

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.reset()
	t.ch <- 1 // want `channel send while t\.mu may be held`
}
