// Package trylock: a send after a TryLock that failed.
package trylock

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

func (c *C) Try(n int) { // want Try:`mayBlock\(channel send`
	ok := c.mu.TryLock()
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n // want `channel send while c\.mu may be held`
	if ok {
		c.mu.Unlock()
	}
}
