// Package jsonfield is a case: a served queue's reader hands encoding/json a struct with no methods
// whose field is a type of the package with a MarshalJSON that takes the
// senders' lock. Reported.
package jsonfield

import (
	"encoding/json"
	"sync"
)

type mark struct{ idx uint64 }

type W struct {
	mu     sync.Mutex
	markCh chan mark
	closer chan struct{}
	done   uint64
	out    []byte
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
			w.out, _ = json.Marshal(snapshot{&inner{w}})
		case <-w.closer:
			return
		}
	}
}

func (w *W) Done(i uint64) { // want Done:`mayBlock\(channel send at jsonfield\.go:\d+\)`
	w.mu.Lock()
	defer w.mu.Unlock()
	w.markCh <- mark{idx: i} // want `channel send while w\.mu may be held`
}

type inner struct{ w *W }

func (i *inner) MarshalJSON() ([]byte, error) {
	i.w.mu.Lock()
	defer i.w.mu.Unlock()
	return []byte("1"), nil
}
func (i *inner) String() string { i.w.mu.Lock(); defer i.w.mu.Unlock(); return "x" }

type snapshot struct{ In *inner }
