// Package loopstore is a case: one new channel stored round a loop into
// the maps of several structs. Reported.
package loopstore

import "sync"

type S struct {
	mu   sync.Mutex
	subs map[int]chan int
}

func New() *S { return &S{subs: map[int]chan int{}} }

func SubscribeAll(all []*S, k int) <-chan int {
	c := make(chan int, 1)
	for _, s := range all {
		s.mu.Lock()
		s.subs[k] = c
		s.mu.Unlock()
	}
	return c
}

func (s *S) Publish(v int) { // want Publish:`mayBlock\(channel send at loopstore\.go:\d+\)`
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
