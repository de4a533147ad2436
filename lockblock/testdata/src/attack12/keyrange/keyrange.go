// Package keyrange is a case: a range over the keys that sends into
// m[k]. Reported.
package keyrange

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

func (s *S) Publish(v int) { // want Publish:`mayBlock\(channel send at keyrange\.go:\d+\)`
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
func (s *S) Poke(v int) { // want Poke:`mayBlock\(channel send at keyrange\.go:\d+\)`
	for k := range s.subs {
		s.subs[k] <- v
	}
}
