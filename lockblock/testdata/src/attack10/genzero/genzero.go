// Package genzero: a generic function makes a zero value of the struct, whose channel is nil.
package genzero

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func (t *T) signal() {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.ch:
	default:
	}
	t.ch <- 1 // want `channel send while t\.mu may be held`
}

func mk[X any]() *X { return new(X) }

func Run() { // want Run:`mayBlock\(genzero\.T\.signal → channel send`
	mk[T]().signal()
}
