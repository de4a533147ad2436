// Package grow is a case: a slice field grown by appending make([]chan
// int, 3)..., three nil channels. Reported.
package grow

import "sync"

type S struct {
	mu   sync.Mutex
	subs []chan int
}

func (s *S) Publish(v int) { // want Publish:`mayBlock\(channel send at grow\.go:\d+\)`
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

func (s *S) Add() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, make([]chan int, 3)...)
}
