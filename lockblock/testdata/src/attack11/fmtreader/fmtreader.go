// Package fmtreader is a case: a served queue's reader formats values with fmt and log: the
// arguments hold no code of the package that waits. Not reported.
package fmtreader

import (
	"fmt"
	"sync"
)

type mark struct{ idx uint64 }

type W struct {
	mu     sync.Mutex
	markCh chan mark
	closer chan struct{}
	done   uint64
	last   string
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
			w.last = fmt.Sprintf("%d", m.idx)
		case <-w.closer:
			return
		}
	}
}

func (w *W) Done(i uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.markCh <- mark{idx: i}
}
