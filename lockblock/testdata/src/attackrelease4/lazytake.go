package attackrelease4

import "sync"

type LT struct {
	mu   sync.Mutex
	lazy bool
	ch   chan int
	ack  chan int
}

// g returns holding c.mu, whether or not its caller held it (when lazy).
func (c *LT) g() {
	if c.lazy {
		c.mu.Lock()
	}
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
}

func (c *LT) useNotHeld() {
	c.lazy = true
	c.g()
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}

func (c *LT) useHeld() {
	c.mu.Lock()
	c.g()
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}

func (c *LT) mid() { c.g() }

func (c *LT) useMid() {
	c.mid()
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}

func (c *LT) useMidHeld() {
	c.mu.Lock()
	c.mid()
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
}
