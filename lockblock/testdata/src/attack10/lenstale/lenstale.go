// Package lenstale: the length is taken before a fill and tested after it.
package lenstale

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) other() {
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 2
}

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.ch)
	t.other() // want `call to lenstale\.T\.other, which may block \(channel send at lenstale\.go:\d+\) while t\.mu may be held`
	if n == 0 {
		t.ch <- 1 // want `channel send while t\.mu may be held`
	}
}
