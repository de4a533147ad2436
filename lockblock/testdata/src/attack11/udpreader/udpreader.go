// Package udpreader is a case: a served queue's reader writes datagrams: a UDP write does not wait
// for the peer, so the queue is served. Not reported.
package udpreader

import (
	"net"
	"sync"
)

type mark struct{ idx uint64 }

type W struct {
	mu     sync.Mutex
	markCh chan mark
	closer chan struct{}
	done   uint64
	conn   *net.UDPConn
	buf    []byte
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
			w.conn.Write(w.buf)
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
