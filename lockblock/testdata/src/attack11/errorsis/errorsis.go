// Package errorsis is a case: a served queue's reader hands errors.Is an error whose Unwrap leads
// to an Is method that takes the senders' lock. Reported.
package errorsis

import (
	"errors"
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
			w.done = m.idx
			if errors.Is(wrapErr{lockErr{w}}, stopErr{}) {
				return
			}
		case <-w.closer:
			return
		}
	}
}

func (w *W) Done(i uint64) { // want Done:`mayBlock\(channel send at errorsis\.go:\d+\)`
	w.mu.Lock()
	defer w.mu.Unlock()
	w.markCh <- mark{idx: i} // want `channel send while w\.mu may be held`
}

type stopErr struct{}

func (stopErr) Error() string { return "stop" }

type wrapErr struct{ err error }

func (e wrapErr) Error() string { return "wrapped" }
func (e wrapErr) Unwrap() error { return e.err }

type lockErr struct{ w *W }

func (e lockErr) Error() string   { return "l" }
func (e lockErr) Is(t error) bool { e.w.mu.Lock(); defer e.w.mu.Unlock(); return false }
