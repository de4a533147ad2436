// Package growarray is a case: a slice field grown by appending an
// array's nil channels. Reported.
package growarray

import "sync"

type S struct {
	mu   sync.Mutex
	subs []chan int
}

func (s *S) Publish(v int) { // want Publish:`mayBlock\(channel send at growarray\.go:\d+\)`
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
	var z [2]chan int
	s.subs = append(s.subs, z[:]...)
}
