// Package twostructs is a case: one new channel stored in the maps of
// two structs, sent into under two locks. Reported.
package twostructs

import "sync"

type S struct {
	mu   sync.Mutex
	subs map[int]chan int
}

func New() *S { return &S{subs: map[int]chan int{}} }

func Subscribe(a, b *S, k int) <-chan int {
	c := make(chan int, 1)
	a.mu.Lock()
	a.subs[k] = c
	a.mu.Unlock()
	b.mu.Lock()
	b.subs[k] = c
	b.mu.Unlock()
	return c
}

func (s *S) Publish(v int) { // want Publish:`mayBlock\(channel send at twostructs\.go:\d+\)`
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.subs {
		select {
		case <-c:
		default:
		}
		c <- v // want `channel send while s\.mu may be held`
	}
}
