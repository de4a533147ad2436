package attackrelease3

import "sync"

type KLR struct {
	mu sync.RWMutex
	ch chan int
}

// g takes a read lock of its own when own, and lets one go around the wait.
func (c *KLR) g(own bool) {
	if own {
		c.mu.RLock()
	}
	c.mu.RUnlock()
	<-c.ch
	c.mu.RLock()
	if own {
		c.mu.RUnlock()
	}
}

// the caller's read lock plus g's own: one is held at the wait.
func (c *KLR) useTrue() {
	c.mu.RLock()
	c.g(true) // want `call to attackrelease3.KLR.g, which may block`
	c.mu.RUnlock()
}

func (c *KLR) useFalse() {
	c.mu.RLock()
	c.g(false)
	c.mu.RUnlock()
}

func (c *KLR) useVar(own bool) {
	c.mu.RLock()
	c.g(own) // want `call to attackrelease3.KLR.g, which may block`
	c.mu.RUnlock()
}
