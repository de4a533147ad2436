// Package rangefunc2: an iterator that lets go of the lock around the body: not held at the send.
package rangefunc2

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) each(yield func(int) bool) {
	c.mu.Unlock()
	defer c.mu.Lock()
	yield(1)
}

func (c *C) Poke() { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	for x := range c.each {
		select {
		case <-c.wake:
		default:
		}
		c.wake <- x
	}
}
