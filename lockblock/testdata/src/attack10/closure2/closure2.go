// Package closure2: a closure called once under the lock and once without it.
package closure2

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) Run() { // want Run:`mayBlock\(the func literal`
	f := func() {
		select {
		case <-t.ch:
		default:
		}
		t.ch <- 1
	}
	t.mu.Lock()
	f() // want `call to the func literal at closure2\.go:\d+, which may block \(channel send at closure2\.go:\d+\) while t\.mu may be held`
	t.mu.Unlock()
	f()
}
