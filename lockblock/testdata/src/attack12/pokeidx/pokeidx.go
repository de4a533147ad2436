// Package pokeidx is a case: a send into m[k] of a map of emptied
// element channels, with no lock and no drain, fills a channel another
// sender just drained. Reported.
package pokeidx

import "sync"

type S struct {
	mu   sync.Mutex
	subs map[int]chan int
}

func New() *S { return &S{subs: map[int]chan int{}} }

func (s *S) Subscribe(k int) <-chan int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan int, 1)
	s.subs[k] = c
	return c
}

func (s *S) Publish(v int) { // want Publish:`mayBlock\(channel send at pokeidx\.go:\d+\)`
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

func (s *S) Poke(k, v int) { s.subs[k] <- v } // want Poke:`mayBlock\(channel send at pokeidx\.go:\d+\)`
