// Package clearmap is a case: clear on a map of emptied element channels
// drops them, as delete does. Not reported.
package clearmap

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

func (s *S) Publish(v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.subs {
		select {
		case <-c:
		default:
		}
		c <- v
	}
}

func (s *S) Unsub(k int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.subs, k)
}

func (s *S) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.subs)
	s.subs = map[int]chan int{}
	s.subs = make(map[int]chan int)
	s.subs = nil
}
