// Package hookfire: a function of another package, handed no code, runs a hook registered earlier that lets go of the lock.
package hookfire

import (
	"sync"

	"attack10/ahelper"
)

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T {
	t := &T{ch: make(chan int, 1)}
	ahelper.Register(func() { t.mu.Unlock(); t.mu.Lock() })
	return t
}

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	ahelper.Fire()
	t.ch <- 1 // want `channel send while t\.mu may be held`
}
