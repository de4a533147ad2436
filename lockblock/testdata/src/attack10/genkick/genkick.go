// Package genkick: a generic function of another package calls a method of the package that unlocks.
package genkick

import (
	"sync"

	"attack10/ahelper"
)

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

// Kick lets the lock go for a moment; its callers hold it.
func (t *T) Kick() { t.mu.Unlock(); t.mu.Lock() }

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	ahelper.Call(t)
	t.ch <- 1 // want `channel send while t\.mu may be held`
}
