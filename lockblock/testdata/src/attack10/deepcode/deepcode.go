// Package deepcode: a function of another package handed a func value nested deep in a struct.
package deepcode

import (
	"sync"

	"attack10/ahelper"
)

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
	d := &ahelper.Deep{}
	d.X.F = func() { t.mu.Unlock(); t.mu.Lock() }
	ahelper.RunDeep(d)
	t.ch <- 1 // want `channel send while t\.mu may be held`
}
