package attackrelease3

import "sync"

type RK3 struct {
	mu sync.RWMutex
	ch chan int
}

func relL(l sync.Locker) { l.Unlock() }

// two read locks, the helper releases one through the RLocker for good.
func (r *RK3) forGood() {
	r.mu.RLock()
	r.mu.RLock()
	relL(r.mu.RLocker())
	<-r.ch // want `channel receive while r.mu may be held`
	r.mu.RUnlock()
}

func takeL(l sync.Locker) { l.Lock() }

// one read lock plus one taken through the RLocker by a helper.
func (r *RK3) takeVia() {
	r.mu.RLock()
	takeL(r.mu.RLocker())
	r.mu.RUnlock()
	<-r.ch // want `channel receive while r.mu may be held`
	r.mu.RUnlock()
}
