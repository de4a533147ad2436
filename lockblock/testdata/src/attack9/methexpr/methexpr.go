// Package methexpr: the sender is a method expression in a package variable's initializer, called without the lock.
package methexpr

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
	c.wake <- n
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(methexpr\.C\.poke → channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	c.poke(n) // want `call to methexpr\.C\.poke, which may block \(channel send at methexpr\.go:\d+\) while c\.mu may be held`
}

var hook = (*C).poke

func Nudge(c *C) { hook(c, 1) }
