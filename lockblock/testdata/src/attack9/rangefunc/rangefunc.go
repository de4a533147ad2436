// Package rangefunc: an iterator that runs the body twice: the second send finds the first.
package rangefunc

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) each(yield func(int) bool) {
	if !yield(1) {
		return
	}
	yield(2)
}

func (c *C) Poke() { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.wake:
	default:
	}
	for x := range c.each {
		c.wake <- x // want `channel send while c\.mu may be held`
	}
}
