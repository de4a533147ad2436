package attackrelease4

import "sync"

type L3 struct {
	mu  sync.Mutex
	ack chan int
}

// t returns holding c.mu on every path where its caller did not hold it.
func (c *L3) t() {
	c.mu.TryLock()
	c.mu.Unlock()
	c.mu.Lock()
}

func (c *L3) useT() {
	c.t()
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}

// lazy by a parameter, with a constant.
func (c *L3) p(lazy bool) {
	if lazy {
		c.mu.Lock()
	}
	c.mu.Unlock()
	c.mu.Lock()
}

func (c *L3) useP() {
	c.p(true)
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}
