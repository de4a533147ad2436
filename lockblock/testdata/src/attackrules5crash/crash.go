// Package attackrules5crash holds a case that made lockblock panic
// (was a crash: panic: "" not an Int in selectCase, fresh.go).
package attackrules5crash

import (
	"strings"
	"sync"
)

// ---------------------------------------------------------------------
// T3. Promise: the analyzer does not crash. A give-back after a call of
// a helper that sends into the token field under a test of the first
// result of a call against a string constant (host, _ := split(addr);
// host == "").
// ---------------------------------------------------------------------
type hsem struct {
	mu sync.Mutex
	ch chan struct{}
}

func newHsem(n int) *hsem {
	s := &hsem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func (s *hsem) acquire() { <-s.ch }

func split(addr string) (string, string) {
	host, port, _ := strings.Cut(addr, ":")
	return host, port
}

func (s *hsem) giveIfLocal(addr string) {
	if host, _ := split(addr); host == "" {
		s.ch <- struct{}{}
	}
}

func (s *hsem) release(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.giveIfLocal(addr)
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}
