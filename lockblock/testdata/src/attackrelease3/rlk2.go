package attackrelease3

import "sync"

type RK2 struct {
	mu sync.RWMutex
	ch chan int
}

func lg1(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

func lg2(l sync.Locker, ch chan int) { lg1(l, ch) }

// one helper, two read locks held: one stays held at the wait.
func (r *RK2) oneLevel() {
	r.mu.RLock()
	r.mu.RLock()
	lg1(r.mu.RLocker(), r.ch) // want `call to attackrelease3.lg1, which may block`
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// two helpers, two read locks held.
func (r *RK2) twoLevels() {
	r.mu.RLock()
	r.mu.RLock()
	lg2(r.mu.RLocker(), r.ch) // want `call to attackrelease3.lg2, which may block`
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// a plain *RWMutex helper two levels deep, for comparison.
func rw1(m *sync.RWMutex, ch chan int) {
	m.RUnlock()
	<-ch
	m.RLock()
}
func rw2(m *sync.RWMutex, ch chan int) { rw1(m, ch) }

func (r *RK2) rwTwoLevels() {
	r.mu.RLock()
	r.mu.RLock()
	rw2(&r.mu, r.ch) // want `call to attackrelease3.rw2, which may block`
	r.mu.RUnlock()
	r.mu.RUnlock()
}
