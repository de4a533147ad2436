// Package generic is a case: the generic form of a send into m[k] beside
// drained sends. Reported.
package generic

import "sync"

type S[T any] struct {
	mu   sync.Mutex
	subs map[int]chan T
}

func New[T any]() *S[T] { return &S[T]{subs: map[int]chan T{}} }

func (s *S[T]) Subscribe(k int) <-chan T {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan T, 1)
	s.subs[k] = c
	return c
}

func (s *S[T]) Publish(v T) { // want Publish:`mayBlock\(channel send at generic\.go:\d+\)`
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

func (s *S[T]) Poke(k int, v T) { // want Poke:`mayBlock\(channel send at generic\.go:\d+\)`
	s.subs[k] <- v
}
