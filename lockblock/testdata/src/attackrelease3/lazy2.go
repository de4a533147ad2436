package attackrelease3

import "sync"

type LZ2 struct {
	mu   sync.Mutex
	a, b bool
	ch   chan int
	ack  chan int
}

// taken under a, released under b: with neither, the caller's lock is held at the wait.
func (c *LZ2) ab() {
	if c.a {
		c.mu.Lock()
	}
	if c.b {
		c.mu.Unlock()
	}
	<-c.ch // want `channel receive while c.mu may be held`
}

func (c *LZ2) useAB() {
	c.mu.Lock()
	c.ab() // want `call to attackrelease3.LZ2.ab, which may block`
	c.mu.Unlock()
}

func (c *LZ2) lock()   { c.mu.Lock() }
func (c *LZ2) unlock() { c.mu.Unlock() }

// lazy through helpers: the caller's lock is held at the ack.
func (c *LZ2) g() {
	if c.a {
		c.lock()
	}
	c.unlock()
	c.ch <- 1
	c.lock()
	<-c.ack // want `channel receive while c.mu may be held`
	if c.a {
		c.unlock()
	}
}

func (c *LZ2) useG() {
	c.mu.Lock()
	c.g() // want `call to attackrelease3.LZ2.g, which may block`
	c.mu.Unlock()
}

// deferred unlock helper: held at the wait.
func (c *LZ2) useDeferUnlock() {
	c.mu.Lock()
	defer c.unlock()
	<-c.ch // want `channel receive while c.mu may be held`
}

// lazy, taken under !a, unlocked under a: caller's lock (held iff a?) ... both ways unlocked once
func (c *LZ2) neg() {
	if !c.a {
		c.mu.Lock()
	}
	if !c.a {
		c.mu.Unlock()
	} else {
		c.mu.Unlock()
	}
	c.ch <- 1
	c.mu.Lock()
	<-c.ack // want `channel receive while c.mu may be held`
	if !c.a {
		c.mu.Unlock()
	}
}

func (c *LZ2) useNeg() {
	c.mu.Lock()
	c.neg() // want `call to attackrelease3.LZ2.neg, which may block`
	c.mu.Unlock()
}
