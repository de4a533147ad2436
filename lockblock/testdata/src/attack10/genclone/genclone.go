// Package genclone: a generic function of another package copies the struct whole.
package genclone

import (
	"sync"

	"attack10/ahelper"
)

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

// Clone shares the channel but not the mutex.
func (t *T) Clone() *T { return ahelper.Clone(t) }

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 1 // want `channel send while t\.mu may be held`
}
