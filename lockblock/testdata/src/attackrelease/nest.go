package attackrelease

import "sync"

type R struct {
	mu sync.RWMutex
	ch chan int
}

// waitUnlocked is called with one read lock of r.mu held; it lets that
// one go around the receive.
func (r *R) waitUnlocked() {
	r.mu.RUnlock()
	<-r.ch
	r.mu.RLock()
}

// twice holds two read locks ("read locks nest"): waitUnlocked lets one go,
// and the other stays held across its receive.
func (r *R) twice() {
	r.mu.RLock()
	r.mu.RLock()
	r.waitUnlocked() // want `call to attackrelease.R.waitUnlocked, which may block \(channel receive at nest.go:14\) while r.mu may be held`
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// once is the control: one read lock, let go around the wait.
func (r *R) once() {
	r.mu.RLock()
	r.waitUnlocked()
	r.mu.RUnlock()
}
