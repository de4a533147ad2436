package attackrelease2

import "sync"

type LZ struct {
	mu   sync.Mutex
	lazy bool
	ch   chan int
	ack  chan int
}

// g is called with c.mu held unless c.lazy; it lets c.mu go around the
// send and waits for the ack holding it again.
func (c *LZ) g() {
	if c.lazy {
		c.mu.Lock()
	}
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
	<-c.ack // want `channel receive while c.mu may be held`
	if c.lazy {
		c.mu.Unlock()
	}
}

func (c *LZ) useG() {
	c.mu.Lock()
	c.g() // want `call to attackrelease2.LZ.g, which may block \(channel receive at lazy.go:21\) while c.mu may be held`
	c.mu.Unlock()
}
