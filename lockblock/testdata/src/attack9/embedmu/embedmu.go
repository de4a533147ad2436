// Package embedmu: an embedded mutex.
package embedmu

import "sync"

type C struct {
	sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func (c *C) Poke(n int) {
	c.Lock()
	defer c.Unlock()
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n
}
