package attackrelease3

import "sync"

type B5 struct {
	mu sync.Mutex
	ch chan int
}

// TryLock fails where the caller holds c.mu; the Unlock lets the caller's
// go around the send either way, as with if lazy { mu.Lock() }; mu.Unlock().
func (c *B5) f() {
	got := c.mu.TryLock()
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
	if got {
		c.mu.Unlock()
	}
}

func (c *B5) use() {
	c.mu.Lock()
	c.f()
	c.mu.Unlock()
}
