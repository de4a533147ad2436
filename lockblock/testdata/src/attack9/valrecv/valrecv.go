// Package valrecv: the lock is a pointer field that may be swapped: senders may hold two mutexes.
package valrecv

import "sync"

type C struct {
	mu   *sync.Mutex
	wake chan int
}

func newC() *C { return &C{mu: new(sync.Mutex), wake: make(chan int, 1)} }

func (c *C) Swap() { c.mu = new(sync.Mutex) }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n // want `channel send while c\.mu may be held`
}
