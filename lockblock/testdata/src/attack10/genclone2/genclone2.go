// Package genclone2: a generic function of the package copies the struct whole.
package genclone2

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func clone[X any](p *X) *X { v := *p; return &v }

// Clone shares the channel but not the mutex.
func (t *T) Clone() *T { return clone(t) }

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 1 // want `channel send while t\.mu may be held`
}
