// Package linkname: a //go:linkname directive lets another package call the sender without the lock.
package linkname

import (
	"sync"
	_ "unsafe"
)

type C struct {
	mu   sync.Mutex
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

//go:linkname poke
func poke(c *C, n int) {
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(linkname\.poke → channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	poke(c, n) // want `call to linkname\.poke, which may block \(channel send at linkname\.go:\d+\) while c\.mu may be held`
}
