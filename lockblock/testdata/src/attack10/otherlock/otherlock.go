// Package otherlock: the callee is entered holding another value's lock.
package otherlock

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) sendLocked() {
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 1
}

func (t *T) Signal(o *T) { // want Signal:`mayBlock\(otherlock\.T\.sendLocked → channel send`
	o.mu.Lock()
	defer o.mu.Unlock()
	t.sendLocked() // want `call to otherlock\.T\.sendLocked, which may block \(channel send at otherlock\.go:\d+\) while o\.mu may be held`
}
