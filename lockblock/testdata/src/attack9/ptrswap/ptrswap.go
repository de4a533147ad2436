// Package ptrswap: a pointer swapped between the test and the send.
package ptrswap

import "sync"

type sig struct{ wake chan int }

type C struct {
	mu   sync.Mutex
	p, q *sig
}

func newC() *C {
	return &C{p: &sig{wake: make(chan int, 1)}, q: &sig{wake: make(chan int, 1)}}
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.p.wake) == 0 {
		c.p, c.q = c.q, c.p
		c.p.wake <- n // want `channel send while c\.mu may be held`
	}
}
