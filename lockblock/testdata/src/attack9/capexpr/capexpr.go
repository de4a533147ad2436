// Package capexpr: two sends after one len < cap test.
package capexpr

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.wake) < cap(c.wake) {
		c.wake <- n // want `channel send while c\.mu may be held`
		c.wake <- n // want `channel send while c\.mu may be held`
	}
}
