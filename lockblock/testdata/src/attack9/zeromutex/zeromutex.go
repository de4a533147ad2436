// Package zeromutex: the mutex is overwritten between the room and the send, which lets it go.
package zeromutex

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	select {
	case <-c.wake:
	default:
	}
	c.mu = sync.Mutex{}
	c.wake <- n // want `channel send while c\.mu may be held`
}
