package attackrelease3

import "sync"

type RCL struct {
	mu    sync.RWMutex
	ch    chan int
	stats int
	fail  bool
}

// letGo lets one read lock go around the wait; a closure captures r.
func (r *RCL) letGo() {
	defer func() { r.stats++ }()
	r.mu.RUnlock()
	<-r.ch
	r.mu.RLock()
}

func (r *RCL) two() {
	r.mu.RLock()
	r.mu.RLock()
	r.letGo() // want `call to attackrelease3.RCL.letGo, which may block`
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// mutual recursion with read locks: f lets one go and calls g, which waits.
func (r *RCL) f() {
	r.mu.RUnlock()
	r.g()
	r.mu.RLock()
}

func (r *RCL) g() {
	if r.fail {
		r.f()
		return
	}
	<-r.ch
}

func (r *RCL) useF2() {
	r.mu.RLock()
	r.mu.RLock()
	r.f() // want `call to attackrelease3.RCL.f, which may block`
	r.mu.RUnlock()
	r.mu.RUnlock()
}

func (r *RCL) useG1() {
	r.mu.RLock()
	r.g() // want `call to attackrelease3.RCL.g, which may block`
	r.mu.RUnlock()
}
