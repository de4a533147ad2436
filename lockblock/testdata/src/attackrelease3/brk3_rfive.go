package attackrelease3

import "sync"

type B3 struct {
	mu sync.RWMutex
	ch chan int
}

// letGo5 lets five read locks go around the wait.
func (r *B3) letGo5() {
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	<-r.ch
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
}

// Five held, five let go: nothing is held at the wait.
func (r *B3) five() {
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	// Known and documented ("How it works"): a caller holding a read lock
	// more than four times is taken to hold it across the call.
	r.letGo5() // want `call to attackrelease3.B3.letGo5, which may block \(channel receive at brk3_rfive.go:17\) while r.mu may be held`
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
}
