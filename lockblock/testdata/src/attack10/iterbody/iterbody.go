// Package iterbody: an iterator that calls the loop body from two goroutines: two sends
// may meet, and the call of the iterator is reported at the loop.
package iterbody

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func New() *T { return &T{ch: make(chan int, 1)} }

func twice(yield func(int) bool) {
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); yield(i) }()
	}
	wg.Wait()
}

func (t *T) Signal() { // want Signal:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	for range twice { // want `call to iterbody\.twice, which may block \(call to sync\.WaitGroup\.Wait at iterbody\.go:\d+\) while t\.mu may be held`
		select {
		case <-t.ch:
		default:
		}
		t.ch <- 1 // want `channel send while t\.mu may be held`
	}
}
