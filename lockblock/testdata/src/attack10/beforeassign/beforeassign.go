// Package beforeassign: the struct is used before its channel is stored.
package beforeassign

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) signal() {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 1 // want `channel send while t\.mu may be held`
}

func Make() *T { // want Make:`mayBlock\(beforeassign\.T\.signal → channel send`
	t := &T{}
	t.signal()
	t.ch = make(chan int, 1)
	return t
}
