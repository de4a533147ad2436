// Package pkgvarfunc: the sender is a function value in a package variable's initializer, called without the lock.
package pkgvarfunc

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func poke(c *C, n int) {
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(pkgvarfunc\.poke → channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	poke(c, n) // want `call to pkgvarfunc\.poke, which may block \(channel send at pkgvarfunc\.go:\d+\) while c\.mu may be held`
}

var hook = poke

func Nudge(c *C) { hook(c, 1) }
