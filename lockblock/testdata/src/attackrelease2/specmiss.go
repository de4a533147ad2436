package attackrelease2

import "sync"

type SQ struct {
	mu  sync.Mutex
	ch  chan int
	ack chan int
}

// f takes c.mu itself when own is true, and otherwise is called with it
// held; either way it lets it go around the send and then waits for the
// ack holding it again.
func (c *SQ) f(own bool) {
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

func (c *SQ) useF() {
	c.mu.Lock()
	c.f(false) // want `call to attackrelease2.SQ.f, which may block \(channel receive at specmiss.go:21\) while c.mu may be held`
	c.mu.Unlock()
}

func (c *SQ) useFVar(own bool) {
	c.mu.Lock()
	c.f(own) // want `call to attackrelease2.SQ.f, which may block \(channel receive at specmiss.go:21\)`
	c.mu.Unlock()
}
