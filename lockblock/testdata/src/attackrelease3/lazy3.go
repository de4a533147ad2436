package attackrelease3

import "sync"

type LZ3 struct {
	mu  sync.Mutex
	xs  []bool
	n   int
	ch  chan int
	ack chan int
}

// own computed in a loop.
func (c *LZ3) loopCond() {
	own := false
	for _, x := range c.xs {
		if x {
			own = true
		}
	}
	if own {
		c.mu.Lock()
	}
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
	<-c.ack // want `channel receive while c.mu may be held`
	if own {
		c.mu.Unlock()
	}
}

func (c *LZ3) useLoopCond() {
	c.mu.Lock()
	c.loopCond() // want `call to attackrelease3.LZ3.loopCond, which may block`
	c.mu.Unlock()
}

// lock taken in a loop.
func (c *LZ3) loopLock() {
	for i := 0; i < c.n; i++ {
		if i == 0 {
			c.mu.Lock()
		}
	}
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}

func (c *LZ3) useLoopLock() {
	c.mu.Lock()
	c.loopLock() // want `call to attackrelease3.LZ3.loopLock, which may block`
	c.mu.Lock()
}

// TryLock: fails where the caller holds it.
func (c *LZ3) try() {
	got := c.mu.TryLock()
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
	<-c.ack // want `channel receive while c.mu may be held`
	if got {
		c.mu.Unlock()
	}
}

func (c *LZ3) useTry() {
	c.mu.Lock()
	c.try() // want `call to attackrelease3.LZ3.try, which may block`
	c.mu.Unlock()
}

// TryLock, quiet version: lets go around the send only.
func (c *LZ3) tryQuiet() {
	got := c.mu.TryLock()
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
	if got {
		c.mu.Unlock()
	}
}

func (c *LZ3) useTryQuiet() {
	c.mu.Lock()
	c.tryQuiet()
	c.mu.Unlock()
}
