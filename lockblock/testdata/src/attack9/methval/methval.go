// Package methval: the sender is a method value in a package variable's initializer, called without the lock.
package methval

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

func (c *C) Poke(n int) { // want Poke:`mayBlock\(methval\.C\.poke → channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	c.poke(n) // want `call to methval\.C\.poke, which may block \(channel send at methval\.go:\d+\) while c\.mu may be held`
}

var shared = newC()
var hook = shared.poke

func Nudge() { hook(1) }
