// Package recurse: a sender calls itself between the room and its send: the inner send fills the room.
package recurse

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) poke(n int) {
	select {
	case <-c.wake:
	default:
	}
	if n > 0 {
		c.poke(n - 1)
	}
	c.wake <- n
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(recurse\.C\.poke → channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	c.poke(n) // want `call to recurse\.C\.poke, which may block \(channel send at recurse\.go:\d+\) while c\.mu may be held`
}
