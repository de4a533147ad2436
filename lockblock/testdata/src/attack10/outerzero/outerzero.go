// Package outerzero: a struct holding the channel's struct is made zero.
package outerzero

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

type Outer struct{ T }

func Run() { // want Run:`mayBlock\(outerzero\.T\.signal → channel send`
	o := new(Outer)
	o.signal()
}
