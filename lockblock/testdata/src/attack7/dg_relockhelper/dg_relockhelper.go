package dg_relockhelper

import "sync"

type store struct {
	mu   sync.Mutex
	done chan struct{}
	n    int
}

func (s *store) unregister() { s.done <- struct{}{} }

func (s *store) lock() { s.mu.Lock() }

// The lock is taken again, through a helper, after the guard is set: the
// guarded unlock does nothing and unregister runs holding s.mu.
func (s *store) relock(fail bool) (err error) {
	defer func() { // want `call to the func literal at dg_relockhelper\.go:18, which may block \(channel send at dg_relockhelper\.go:11\)`
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
		s.n--
		s.lock()
		return errFail
	}
	return nil
}

type failErr struct{}

func (failErr) Error() string { return "fail" }

var errFail error = failErr{}
