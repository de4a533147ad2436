// Package exported: an exported channel field, which other packages may send into.
package exported

import "sync"

type C struct {
	mu   sync.Mutex
	Wake chan int
}

func NewC() *C { return &C{Wake: make(chan int, 1)} }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.Wake:
	default:
	}
	c.Wake <- n // want `channel send while c\.mu may be held`
}
