// Package otherlock is a case: a served queue's reader calls another package's function that takes
// that package's lock, which a sender holds while it sends: the reader
// waits for the sender, the sender for room. Reported.
package otherlock

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
			w.step(m)
		case <-w.closer:
			return
		}
	}
}

func (w *W) Done(i uint64) { // want Done:`mayBlock\(channel send at otherlock\.go:\d+\)`
	w.mu.Lock()
	defer w.mu.Unlock()
	w.markCh <- mark{idx: i} // want `channel send while w\.mu may be held`
}

func (w *W) step(m mark) {
	w.done = m.idx
	other.Touch()
}
func (w *W) DoneG(i uint64) { // want DoneG:`mayBlock\(channel send at otherlock\.go:\d+\)`
	other.Mu.Lock()
	defer other.Mu.Unlock()
	w.markCh <- mark{idx: i} // want `channel send while other\.Mu may be held`
}
