// Package lockother: the lock held is another struct's.
package lockother

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func Signal(a, b *T) { // want Signal:`mayBlock\(channel send`
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-b.ch:
	default:
	}
	b.ch <- 1 // want `channel send while a\.mu may be held`
}
