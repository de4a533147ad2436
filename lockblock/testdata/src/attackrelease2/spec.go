package attackrelease2

import "sync"

type SP struct {
	mu  sync.Mutex
	ch  chan int
	ack chan int
}

// flush lets c.mu go around the send; only flush(true) then waits for the
// ack holding it again.
func (c *SP) flush(wait bool) {
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
	if wait {
		<-c.ack // want `channel receive while c.mu may be held`
	}
}

func (c *SP) noWait() {
	c.mu.Lock()
	c.flush(false)
	c.mu.Unlock()
}

func (c *SP) withWait() {
	c.mu.Lock()
	c.flush(true) // want `call to attackrelease2.SP.flush, which may block \(channel receive at spec.go:18\)`
	c.mu.Unlock()
}

// step: the same with a constant number: only step(1) sends holding c.mu.
func (c *SP) step(kind int) {
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
	switch kind {
	case 1:
		<-c.ack // want `channel receive while c.mu may be held`
	}
}

func (c *SP) useStep0() {
	c.mu.Lock()
	c.step(0)
	c.mu.Unlock()
}
