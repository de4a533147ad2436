// Package flagset: flag.Set runs a flag.Value's Set that lets go of the lock.
package flagset

import (
	"flag"
	"sync"
)

type T struct {
	mu sync.Mutex
	ch chan int
}

type relock struct{ t *T }

func (r relock) String() string { return "" }
func (r relock) Set(string) error {
	r.t.mu.Unlock()
	r.t.mu.Lock()
	return nil
}

func New() *T {
	t := &T{ch: make(chan int, 1)}
	flag.Var(relock{t}, "relock", "")
	return t
}

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	flag.Set("relock", "x")
	t.ch <- 1 // want `channel send while t\.mu may be held`
}
