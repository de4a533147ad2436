// Package constflip: a constant argument that flips whether the lock is taken.
package constflip

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) poke(n int, lockHere bool) {
	if lockHere {
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	lockHere = !lockHere
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n // want `channel send while c\.mu may be held`
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(constflip\.C\.poke → channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	c.poke(n, false) // want `call to constflip\.C\.poke, which may block \(channel send at constflip\.go:\d+\) while c\.mu may be held`
}

func (c *C) Nudge() { c.poke(1, true) } // want Nudge:`mayBlock\(constflip\.C\.poke → channel send`

func (c *C) Nudge2(b bool) { // want Nudge2:`mayBlock\(constflip\.C\.poke → channel send`
	if b {
		c.mu.Lock()
		defer c.mu.Unlock()
	}
	c.poke(1, false) // want `call to constflip\.C\.poke, which may block \(channel send at constflip\.go:\d+\) while c\.mu may be held`
}
