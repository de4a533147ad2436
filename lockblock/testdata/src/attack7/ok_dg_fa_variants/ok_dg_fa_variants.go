package ok_dg_fa_variants

import (
	"sync"
	"time"
)

type store struct {
	mu   sync.RWMutex
	done chan struct{}
	n    int
}

func (s *store) unregister() { s.done <- struct{}{} }

// A deferred method call before the guarded deferred unlock.
func (s *store) a(fail bool) {
	defer s.unregister()
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
	}
}

// A read lock.
func (s *store) b(fail bool) {
	defer s.unregister()
	s.mu.RLock()
	unlocked := false
	defer func() {
		if !unlocked {
			s.mu.RUnlock()
		}
	}()
	if fail {
		s.mu.RUnlock()
		unlocked = true
	}
}

var gmu sync.Mutex

// A package-level mutex, and a deferred time.Sleep.
func c(fail bool) {
	defer time.Sleep(time.Second)
	gmu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			gmu.Unlock()
		}
	}()
	if fail {
		gmu.Unlock()
		unlocked = true
	}
}

// The guard set on two paths, each just after an unlock.
func (s *store) d(x int) {
	defer s.unregister()
	s.mu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			s.mu.Unlock()
		}
	}()
	switch x {
	case 1:
		s.mu.Unlock()
		unlocked = true
	case 2:
		s.n++
		s.mu.Unlock()
		unlocked = true
		time.Sleep(time.Millisecond)
	}
}

// Declared with var.
func (s *store) e(fail bool) {
	defer s.unregister()
	s.mu.Lock()
	var unlocked bool
	defer func() {
		if !unlocked {
			s.mu.Unlock()
		}
	}()
	if fail {
		s.mu.Unlock()
		unlocked = true
	}
}
