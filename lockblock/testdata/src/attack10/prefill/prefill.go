// Package prefill: a channel filled before it is stored into the field is no new channel with room.
package prefill

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) Reset() { // want Reset:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	ch := make(chan int, 1)
	ch <- 0
	t.ch = ch
	t.ch <- 1 // want `channel send while t\.mu may be held`
}
