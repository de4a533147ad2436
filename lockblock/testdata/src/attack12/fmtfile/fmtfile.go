// Package fmtfile is a case: a served queue's reader hands fmt an
// *os.File, whose Write waits for the disk or a pipe. Reported.
package fmtfile

import (
	"fmt"
	"os"
	"sync"
)

type W struct {
	mu     sync.Mutex
	markCh chan int
	done   chan struct{}
	f      *os.File
}

func New(f *os.File) *W {
	w := &W{done: make(chan struct{}), f: f}
	w.markCh = make(chan int, 100)
	go w.process()
	return w
}

func (w *W) Mark(v int) { // want Mark:`mayBlock\(channel send at fmtfile\.go:\d+\)`
	w.mu.Lock()
	defer w.mu.Unlock()
	w.markCh <- v // want `channel send while w\.mu may be held`
}

func (w *W) process() {
	for {
		select {
		case m := <-w.markCh:
			fmt.Fprintln(w.f, m)
		case <-w.done:
			return
		}
	}
}
