// Package sortunlock: a less func that sort.Slice runs lets go of the lock between the room and the send.
package sortunlock

import (
	"sort"
	"sync"
)

type C struct {
	mu   sync.Mutex
	wake chan int
	xs   []int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.wake:
	default:
	}
	sort.Slice(c.xs, func(i, j int) bool {
		c.mu.Unlock()
		c.mu.Lock()
		return c.xs[i] < c.xs[j]
	})
	c.wake <- n // want `channel send while c\.mu may be held`
}
