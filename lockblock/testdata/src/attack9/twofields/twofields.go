// Package twofields: one channel stored into two fields, the second sent into without the lock.
package twofields

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
	alt  chan int
}

func newC() *C {
	ch := make(chan int, 1)
	return &C{wake: ch, alt: ch}
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n // want `channel send while c\.mu may be held`
}

func (c *C) Nudge() { c.alt <- 1 } // want Nudge:`mayBlock\(channel send`
