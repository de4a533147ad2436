package attackrelease3

import (
	"sync"
	"time"
)

type CH struct {
	mu   sync.Mutex
	ch   chan int
	ack  chan int
	more bool
}

func (c *CH) sleep() { time.Sleep(time.Millisecond) }

// lets go around the send, then waits holding it in a callee.
func (c *CH) a() {
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
	c.sleep() // want `call to attackrelease3.CH.sleep, which may block`
}

func (c *CH) useA() {
	c.mu.Lock()
	c.a() // want `call to attackrelease3.CH.a, which may block \(call to time.Sleep at chain.go:15\)`
	c.mu.Unlock()
}

// a loop: lets go around the send each round, then waits for the ack holding it.
func (c *CH) loop() {
	for c.more {
		c.mu.Unlock()
		c.ch <- 1
		c.mu.Lock()
	}
	<-c.ack // want `channel receive while c.mu may be held`
}

func (c *CH) useLoop() {
	c.mu.Lock()
	c.loop() // want `call to attackrelease3.CH.loop, which may block \(channel receive at chain.go:38\)`
	c.mu.Unlock()
}

// select after the let-go.
func (c *CH) sel() {
	c.mu.Unlock()
	<-c.ch
	c.mu.Lock()
	select { // want `select without a default case while c.mu may be held`
	case <-c.ack:
	case c.ch <- 1:
	}
}

func (c *CH) useSel() {
	c.mu.Lock()
	c.sel() // want `call to attackrelease3.CH.sel, which may block \(select without a default case at chain.go:52\)`
	c.mu.Unlock()
}

// deferred wait after the let-go.
func (c *CH) dfr() {
	defer c.sleep() // want `call to attackrelease3.CH.sleep, which may block`
	c.mu.Unlock()
	c.ch <- 1
	c.mu.Lock()
}

func (c *CH) useDfr() {
	c.mu.Lock()
	c.dfr() // want `call to attackrelease3.CH.dfr, which may block \(call to time.Sleep at chain.go:15\)`
	c.mu.Unlock()
}

// the held wait is one level down behind a let-go wrapper.
func (c *CH) wrap() { c.a() }

func (c *CH) useWrap() {
	c.mu.Lock()
	c.wrap() // want `call to attackrelease3.CH.wrap, which may block \(call to time.Sleep at chain.go:15\)`
	c.mu.Unlock()
}
