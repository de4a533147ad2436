// Package rlocker: the lock is a sync.Locker field set to RLocker(): a read lock lets two senders in.
package rlocker

import "sync"

type C struct {
	rw   sync.RWMutex
	l    sync.Locker
	wake chan int
}

func newC() *C {
	c := &C{wake: make(chan int, 1)}
	c.l = c.rw.RLocker()
	return c
}

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.l.Lock()
	defer c.l.Unlock()
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n // want `channel send while c\.l may be held`
}
