// Package condnil: the constructor makes the channel on one path only: a nil channel waits for ever.
package condnil

import "sync"

type C struct {
	mu   sync.Mutex
	wake chan int
}

func NewC(notify bool) *C {
	c := &C{}
	if notify {
		c.wake = make(chan int, 1)
	}
	return c
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n // want `channel send while c\.mu may be held`
}
