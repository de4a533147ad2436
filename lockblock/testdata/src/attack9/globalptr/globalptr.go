// Package globalptr: the lock is a package variable pointer that may be swapped: senders may hold two mutexes.
package globalptr

import "sync"

var gmu = new(sync.Mutex)

type C struct {
	wake chan int
}

func newC() *C { return &C{wake: make(chan int, 1)} }

func Swap() { gmu = new(sync.Mutex) }

func (c *C) Poke(n int) { // want Poke:`mayBlock\(channel send`
	gmu.Lock()
	defer gmu.Unlock()
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n // want `channel send while gmu may be held`
}
