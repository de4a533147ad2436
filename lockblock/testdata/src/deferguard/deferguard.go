// Package deferguard holds deferred unlocks guarded by a variable that
// says whether the function has let go of the lock already. Deferred
// calls run last in, first out: a call deferred before the guarded unlock
// runs after it, without the lock.
package deferguard

import "sync"

type store struct {
	mu   sync.Mutex
	done chan struct{}
	n    int
}

func (s *store) unregister() { s.done <- struct{}{} }

// The guarded unlock runs first on every path: unregister runs unlocked.
func (s *store) recover(fail bool) (err error) {
	defer func() {
		if err != nil {
			s.unregister()
		}
	}()
	s.mu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			s.mu.Unlock()
		}
	}()
	s.n++
	if fail {
		s.mu.Unlock()
		unlocked = true
		s.n--
	}
	return nil
}

// The lock is taken again after the guard is set: it is held when
// unregister runs.
func (s *store) relock(fail bool) (err error) {
	defer func() { // want `call to the func literal at deferguard.go:\d+, which may block \(channel send at deferguard.go:15\) while s.mu may be held`
		if err != nil {
			s.unregister()
		}
	}()
	s.mu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			s.mu.Unlock()
		}
	}()
	if fail {
		s.mu.Unlock()
		unlocked = true
		s.mu.Lock()
	}
	return nil
}

// The guard is set without an unlock before it.
func (s *store) setEarly(fail bool) (err error) {
	defer func() { // want `call to the func literal at deferguard.go:\d+, which may block \(channel send at deferguard.go:15\) while s.mu may be held`
		if err != nil {
			s.unregister()
		}
	}()
	s.mu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			s.mu.Unlock()
		}
	}()
	if fail {
		unlocked = true
	}
	return nil
}

// The closure unlocks when the guard is true: the other way round.
func (s *store) inverted(fail bool) (err error) {
	defer func() { // want `call to the func literal at deferguard.go:\d+, which may block \(channel send at deferguard.go:15\) while s.mu may be held`
		if err != nil {
			s.unregister()
		}
	}()
	s.mu.Lock()
	held := false
	defer func() {
		if held {
			s.mu.Unlock()
		}
	}()
	if fail {
		s.mu.Unlock()
		held = true
	}
	return nil
}

// Another closure may set the guard.
func (s *store) setElsewhere(fail bool) (err error) {
	defer func() { // want `call to the func literal at deferguard.go:\d+, which may block \(channel send at deferguard.go:15\) while s.mu may be held`
		if err != nil {
			s.unregister()
		}
	}()
	s.mu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			s.mu.Unlock()
		}
	}()
	giveUp := func() { unlocked = true }
	if fail {
		giveUp()
	}
	return nil
}

// The unlock before the guard is of another lock: s.mu stays held.
func (s *store) otherLock(o *store, fail bool) (err error) {
	defer func() { // want `call to the func literal at deferguard.go:\d+, which may block \(channel send at deferguard.go:15\) while s.mu may be held`
		if err != nil {
			s.unregister()
		}
	}()
	s.mu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			s.mu.Unlock()
		}
	}()
	if fail {
		o.mu.Unlock()
		unlocked = true
	}
	return nil
}
