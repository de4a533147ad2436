// Package iocopy is a case: a served queue's reader copies between files
// with io.CopyN, which reads and writes them. Reported.
package iocopy

import (
	"io"
	"os"
	"sync"
)

type W struct {
	mu     sync.Mutex
	markCh chan int
	done   chan struct{}
	sum    int
	dst    *os.File
	src    *os.File
}

func New(dst, src *os.File) *W {
	w := &W{done: make(chan struct{}), dst: dst, src: src}
	w.markCh = make(chan int, 100)
	go w.process()
	return w
}

func (w *W) Mark(v int) { // want Mark:`mayBlock\(channel send at iocopy\.go:\d+\)`
	w.mu.Lock()
	defer w.mu.Unlock()
	w.markCh <- v // want `channel send while w\.mu may be held`
}

func (w *W) process() {
	for {
		select {
		case m := <-w.markCh:
			w.sum += m
			io.CopyN(w.dst, w.src, 1)
		case <-w.done:
			return
		}
	}
}
