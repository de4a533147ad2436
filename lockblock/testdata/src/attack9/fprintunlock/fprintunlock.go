// Package fprintunlock: a Write method that fmt.Fprint runs lets go of the lock between the room and the send.
package fprintunlock

import (
	"fmt"
	"sync"
)

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

type relock struct{ c *C }

func (r relock) Write(p []byte) (int, error) {
	r.c.mu.Unlock()
	r.c.mu.Lock()
	return len(p), nil
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.wake:
	default:
	}
	fmt.Fprint(relock{c}, "x")
	c.wake <- n // want `channel send while c\.mu may be held`
}
