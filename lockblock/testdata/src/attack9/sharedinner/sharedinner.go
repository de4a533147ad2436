// Package sharedinner: two outer structs share one inner channel, each with its own lock.
package sharedinner

import "sync"

type sig struct{ wake chan int }

type C struct {
	mu sync.Mutex
	s  *sig
}

func newC() *C { return &C{s: &sig{wake: make(chan int, 1)}} }

func (c *C) Twin() *C { return &C{s: c.s} }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.s.wake:
	default:
	}
	c.s.wake <- n // want `channel send while c\.mu may be held`
}
