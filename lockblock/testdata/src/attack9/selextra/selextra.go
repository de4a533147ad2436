// Package selextra: a select with a case besides the receive may take the other case.
package selextra

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
	quit chan int
}

func newC() *C { return &C{wake: make(chan int, 1), quit: make(chan int, 1)} }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.wake:
	case <-c.quit:
	default:
	}
	c.wake <- n // want `channel send while c\.mu may be held`
}
