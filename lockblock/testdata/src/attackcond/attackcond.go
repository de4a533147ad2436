// Package attackcond checks sync.Cond.Wait: it releases its own lock and
// no other.
package attackcond

import "sync"

type S struct {
	mu    sync.Mutex
	cond  *sync.Cond
	ready bool
}

func newS() *S {
	s := &S{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// waitLocked must be called with s.mu held, the usual Cond helper.
func (s *S) waitLocked() {
	for !s.ready {
		s.cond.Wait()
	}
}

// useWaitLocked holds only the Cond's own lock, which Wait releases.
func (s *S) useWaitLocked() {
	s.mu.Lock()
	s.waitLocked()
	s.mu.Unlock()
}

// T makes its Cond with a composite literal.
type T struct {
	mu, other sync.Mutex
	cond      *sync.Cond
	ok        bool
}

func newT() *T {
	t := &T{}
	t.cond = &sync.Cond{L: &t.mu}
	return t
}

// other stays held while Wait waits.
func (t *T) waitHoldingOther() {
	t.other.Lock()
	defer t.other.Unlock()
	t.mu.Lock()
	for !t.ok {
		t.cond.Wait() // want `call to sync.Cond.Wait.* while t.other may be held`
	}
	t.mu.Unlock()
}

// A package Cond, locked through its L; other stays held.
var (
	mu, other sync.Mutex
	cond      = sync.NewCond(&mu)
	ready     bool
)

func condThroughL() {
	other.Lock()
	defer other.Unlock()
	cond.L.Lock()
	for !ready {
		cond.Wait() // want `call to sync.Cond.Wait.* while other may be held`
	}
	cond.L.Unlock()
}

// A Cond on the read side of an RWMutex: Wait releases the read lock.
func rlockerCond(rw *sync.RWMutex) {
	c := sync.NewCond(rw.RLocker())
	rw.RLock()
	for !ready {
		c.Wait()
	}
	rw.RUnlock()
}

// The direct forms hold.
func (s *S) direct() {
	s.mu.Lock()
	for !s.ready {
		s.cond.Wait()
	}
	s.mu.Unlock()
}

func localNewCond() {
	c := sync.NewCond(&mu)
	other.Lock()
	mu.Lock()
	c.Wait() // want `call to sync.Cond.Wait.* while other may be held`
	mu.Unlock()
	other.Unlock()
}
