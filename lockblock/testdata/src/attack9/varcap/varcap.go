// Package varcap: a channel made with a size that may be 0: len(ch) == 0 always, and the send waits.
package varcap

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC(size int) *C { return &C{wake: make(chan int, size)} }

func New() *C { return newC(0) }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.wake) == 0 {
		c.wake <- n // want `channel send while c\.mu may be held`
	}
}
