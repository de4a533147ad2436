// Package attackfresh2 holds what an attack on new channels found: a
// queue loaded with its first items is no semaphore, and a struct copied
// into a new one brings its channel with it.
package attackfresh2

import (
	"sync"
	"sync/atomic"
)

type queue struct {
	mu    sync.Mutex
	size  atomic.Int64
	items chan int
}

// newQueue fills the new queue with its first items: its sends have
// room, but the queue's are no tokens given back.
func newQueue(init []int) *queue {
	q := &queue{items: make(chan int, 16)}
	q.size.Store(int64(len(init)))
	for _, v := range init {
		q.items <- v
	}
	return q
}

func (q *queue) Push(v int) { // want Push:`mayBlock\(channel send at attackfresh2.go:31\)`
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items <- v // want `channel send while q.mu may be held`
	q.size.Add(1)
}

type box struct {
	ch chan int
}

var (
	mu     sync.Mutex
	shared = &box{ch: make(chan int)}
)

func viaCopy() {
	s := &box{ch: make(chan int, 1)}
	*s = *shared
	mu.Lock()
	s.ch <- 1 // want `channel send while mu may be held`
	mu.Unlock()
}

func viaLit(c chan int) {
	s := &box{ch: make(chan int, 1)}
	*s = box{ch: c}
	mu.Lock()
	s.ch <- 1 // want `channel send while mu may be held`
	mu.Unlock()
}
