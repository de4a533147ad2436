package attackrelease3

import "sync"

type LR struct {
	mu   sync.RWMutex
	lazy bool
	ch   chan int
}

// rel read-locks only when lazy, then read-unlocks either way. With a
// caller that holds one read lock, lazy leaves the caller's still held.
func (c *LR) rel() {
	if c.lazy {
		c.mu.RLock()
	}
	c.mu.RUnlock()
	<-c.ch
	c.mu.RLock()
}

func (c *LR) useRel() {
	c.mu.RLock()
	c.rel() // want `call to attackrelease3.LR.rel, which may block`
	c.mu.RUnlock()
}
