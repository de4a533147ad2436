package attackrelease4

import "sync"

type TR struct {
	mu sync.Mutex
	ch chan int
}

// spin takes c.mu by a TryLock loop and leaves it held.
func (c *TR) spin() {
	for !c.mu.TryLock() {
	}
}

func (c *TR) spinLocal() {
	for !c.mu.TryLock() {
	}
	<-c.ch // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}

func (c *TR) useSpin() {
	c.spin()
	<-c.ch // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}

// ignored TryLock result, then unlock either way.
func (c *TR) ignored() {
	c.mu.TryLock()
	<-c.ch // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}

// skip: with the caller holding c.mu, TryLock fails and nothing waits.
func (c *TR) skip() {
	if !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	<-c.ch // want `channel receive while c.mu may be held`
}

func (c *TR) useSkip() {
	c.mu.Lock()
	// Known false positive: a TryLock of a lock the caller holds is not
	// known to fail, so skip seems to wait under it.
	c.skip() // want `call to attackrelease4.TR.skip, which may block \(channel receive at try.go:\d+\) while c.mu may be held`
	c.mu.Unlock()
}
