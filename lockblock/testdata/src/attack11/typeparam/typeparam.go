// Package typeparam is a case: a served queue's reader hands a value of its package to another
// package's generic function, which calls the value's method through the
// type parameter; the method takes the senders' lock. Reported.
package typeparam

import (
	"attack11/other"
	"sync"
)

type mark struct{ idx uint64 }

type W struct {
	mu     sync.Mutex
	markCh chan mark
	closer chan struct{}
	done   uint64
}

func New() *W {
	w := &W{closer: make(chan struct{})}
	w.markCh = make(chan mark, 100)
	go w.process()
	return w
}

func (w *W) process() {
	for {
		select {
		case m := <-w.markCh:
			_ = m
			other.Each1(locker{w})
		case <-w.closer:
			return
		}
	}
}

func (w *W) Done(i uint64) { // want Done:`mayBlock\(channel send at typeparam\.go:\d+\)`
	w.mu.Lock()
	defer w.mu.Unlock()
	w.markCh <- mark{idx: i} // want `channel send while w\.mu may be held`
}

type locker struct{ w *W }

func (l locker) Do() { l.w.mu.Lock(); l.w.done++; l.w.mu.Unlock() }
