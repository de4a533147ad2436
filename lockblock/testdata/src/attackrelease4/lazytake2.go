package attackrelease4

import "sync"

type L2 struct {
	mu   sync.Mutex
	lazy bool
	ack  chan int
}

// g returns holding c.mu on every path.
func (c *L2) g() {
	if c.lazy {
		c.mu.Lock()
	}
	c.mu.Unlock()
	c.mu.Lock()
}

// control: not lazy.
func (c *L2) k() {
	c.mu.Lock()
	c.mu.Unlock()
	c.mu.Lock()
}

func (c *L2) useG() {
	c.g()
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}

func (c *L2) useK() {
	c.k()
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}
