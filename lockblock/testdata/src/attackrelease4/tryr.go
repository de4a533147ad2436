package attackrelease4

import "sync"

type TRR struct {
	mu sync.RWMutex
	ch chan int
}

// f: TryRLock succeeds while the caller holds a read lock, so the RUnlock
// releases f's own read lock and the caller's is held at the receive.
func (c *TRR) f() {
	got := c.mu.TryRLock()
	c.mu.RUnlock()
	<-c.ch
	c.mu.RLock()
	if got {
		c.mu.RUnlock()
	}
}

func (c *TRR) use() {
	c.mu.RLock()
	c.f() // want `call to attackrelease4.TRR.f, which may block`
	c.mu.RUnlock()
}
