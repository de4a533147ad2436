// Package attacktry checks that a lock is held only where a TryLock
// succeeded.
package attacktry

import "sync"

type S struct {
	mu sync.Mutex
	ch chan int
}

// tryLock succeeds or not; the caller holds mu only when it returned true.
func (s *S) tryLock() bool { return s.mu.TryLock() }

func (s *S) useTryHelper() {
	if s.tryLock() {
		<-s.ch // want `channel receive while s.mu may be held`
		s.mu.Unlock()
	}
}

// tryLater tests the result in a later block: on the !ok path mu is not
// held.
func (s *S) tryLater(verbose bool) {
	ok := s.mu.TryLock()
	if verbose {
		println("tried")
	}
	if !ok {
		s.ch <- 1
		return
	}
	s.mu.Unlock()
}

// tryPhi: locked only when the TryLock ran and succeeded.
func (s *S) tryPhi(try bool) {
	locked := false
	if try {
		locked = s.mu.TryLock()
	}
	if !locked {
		s.ch <- 1
		return
	}
	s.mu.Unlock()
}

// The direct forms: these hold.
func (s *S) tryNeg() {
	if !s.mu.TryLock() {
		<-s.ch
		return
	}
	s.ch <- 1 // want `channel send while s.mu may be held`
	s.mu.Unlock()
}

func (s *S) trySwitch() {
	switch {
	case s.mu.TryLock():
		defer s.mu.Unlock()
		s.ch <- 1 // want `channel send while s.mu may be held`
	default:
		s.ch <- 2
	}
}

func (s *S) tryAndElse(x bool) {
	if x && s.mu.TryLock() {
		<-s.ch // want `channel receive while s.mu may be held`
		s.mu.Unlock()
	} else {
		<-s.ch
	}
}
