package attackrelease3

import "sync"

type FC struct {
	mu   sync.Mutex
	lazy bool
	ch   chan int
}

// The condition changes between the lock and the test.
func (c *FC) f() {
	if c.lazy {
		c.mu.Lock()
	}
	c.lazy = false
	if !c.lazy {
		<-c.ch // want `channel receive while c.mu may be held`
	}
	c.mu.Unlock()
}

func (c *FC) ok() bool { return c.lazy }

func (c *FC) g() {
	if c.ok() {
		c.mu.Lock()
	}
	c.lazy = !c.lazy
	if !c.ok() {
		<-c.ch // want `channel receive while c.mu may be held`
	}
}
