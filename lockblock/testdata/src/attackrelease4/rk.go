package attackrelease4

import "sync"

type RKN struct {
	mu sync.RWMutex
	ch chan int
}

// h lets go two read locks when both, else one, around the wait.
func (c *RKN) h(both bool) {
	c.mu.RUnlock()
	if both {
		c.mu.RUnlock()
	}
	<-c.ch
	if both {
		c.mu.RLock()
	}
	c.mu.RLock()
}

func (c *RKN) m(b bool) { c.h(b) }

func (c *RKN) useOne() {
	c.mu.RLock()
	c.mu.RLock()
	c.m(false) // want `call to attackrelease4.RKN.m, which may block`
	c.mu.RUnlock()
	c.mu.RUnlock()
}

func (c *RKN) useBoth() {
	c.mu.RLock()
	c.mu.RLock()
	c.m(true)
	c.mu.RUnlock()
	c.mu.RUnlock()
}

func (c *RKN) useOneHeld() {
	c.mu.RLock()
	c.m(false)
	c.mu.RUnlock()
}
