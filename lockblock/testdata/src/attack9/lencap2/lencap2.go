// Package lencap2: both room tests turned round.
package lencap2

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

func (c *C) Poke2(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if 0 == len(c.wake) {
		c.wake <- n
	}
}
