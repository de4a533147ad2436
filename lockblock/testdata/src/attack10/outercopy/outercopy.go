// Package outercopy: a struct holding the channel's struct is copied whole.
package outercopy

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

type Outer struct{ t T }

func NewOuter() *Outer { return &Outer{t: T{ch: make(chan int, 1)}} }

func (o *Outer) Clone() *Outer { o2 := *o; return &o2 }
func (o *Outer) Signal()       { o.t.signal() } // want Signal:`mayBlock\(outercopy\.T\.signal → channel send`
