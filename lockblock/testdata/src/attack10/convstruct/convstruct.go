// Package convstruct: a pointer converted to a struct type of the same layout sends into the field's channel as another field, without the lock.
package convstruct

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 1 // want `channel send while t\.mu may be held`
}

type V struct {
	mu sync.Mutex
	ch chan int
}

// Poke sends with no lock at all, into the very same channel.
func (t *T) Poke() { // want Poke:`mayBlock\(channel send`
	v := (*V)(t)
	v.ch <- 2
}
