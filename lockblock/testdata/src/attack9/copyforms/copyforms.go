// Package copyforms: append copies the structs whole: two mutexes on one channel.
package copyforms

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n // want `channel send while c\.mu may be held`
}

func Dup(cs []C) []C {
	return append([]C(nil), cs...)
}
