// Package capgt: cap(ch) > len(ch), the room test turned round, is the same test.
package capgt

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) Poke(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cap(c.wake) > len(c.wake) {
		c.wake <- n
	}
}
