package dg_trylock

import "sync"

type store struct {
	mu   sync.Mutex
	done chan struct{}
	n    int
}

func (s *store) unregister() { s.done <- struct{}{} }

// The lock is taken again with TryLock after the guard is set.
func (s *store) relock(fail bool) (err error) {
	defer func() { // want `call to the func literal at dg_trylock\.go:15, which may block \(channel send at dg_trylock\.go:11\)`
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
		for !s.mu.TryLock() {
		}
		return errFail
	}
	return nil
}

type failErr struct{}

func (failErr) Error() string { return "fail" }

var errFail error = failErr{}
