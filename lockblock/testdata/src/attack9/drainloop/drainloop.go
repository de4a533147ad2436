// Package drainloop: a loop that drains while len(ch) > 0.
package drainloop

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 4)} }

func (c *C) Poke(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.wake) > 0 {
		select {
		case <-c.wake:
		default:
		}
	}
	c.wake <- n
}
