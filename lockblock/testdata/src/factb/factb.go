// Package factb calls facta's functions under a lock: what blocks is
// known from facta's facts.
package factb

import (
	"sync"

	"facta"
)

type S struct {
	mu sync.Mutex
	ch chan int
	p  facta.Pool
}

func (s *S) F() { // want F:`mayBlock\(facta\.Blocks → channel send at facta\.go:10\)`
	s.mu.Lock()
	defer s.mu.Unlock()
	facta.Blocks(s.ch)      // want `^call to facta\.Blocks, which may block \(channel send at facta\.go:10\) while s\.mu may be held \(locked at factb\.go:18\)`
	facta.Indirect(s.ch)    // want `^call to facta\.Indirect, which may block \(channel send at facta\.go:10\)`
	s.p.Drain()             // want `^call to facta\.Pool\.Drain, which may block \(call to sync\.WaitGroup\.Wait at facta\.go:31\)`
	facta.Nap()             // want `^call to facta\.Nap, which may block`
	facta.NonBlocking(s.ch) // cannot block
	_ = s.p.Size()          // cannot block
	facta.Spawn(s.ch)       // blocks only in a new goroutine
}

// Wrap blocks through facta, so it gets a fact of its own.
func Wrap(ch chan int) { // want Wrap:`mayBlock\(facta\.Indirect → facta\.Blocks → channel send at facta\.go:10\)`
	facta.Indirect(ch)
}
