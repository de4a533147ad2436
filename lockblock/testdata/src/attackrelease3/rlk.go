package attackrelease3

import "sync"

type RK struct {
	mu sync.RWMutex
	rl sync.Locker
	ch chan int
}

func newRK() *RK {
	r := &RK{ch: make(chan int)}
	r.rl = r.mu.RLocker()
	return r
}

// mixed: RLock then the RLocker's Lock: two read locks; one RUnlock leaves one.
func (r *RK) mixed() {
	rl := r.mu.RLocker()
	r.mu.RLock()
	rl.Lock()
	r.mu.RUnlock()
	<-r.ch // want `channel receive while r.mu may be held`
	rl.Unlock()
}

// mixed2: the RLocker's Unlock releases one of two RLocks.
func (r *RK) mixed2() {
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLocker().Unlock()
	<-r.ch // want `channel receive while r.mu may be held`
	r.mu.RUnlock()
}

// mixed3: released by RLocker: quiet.
func (r *RK) mixed3() {
	r.mu.RLock()
	r.mu.RLocker().Unlock()
	<-r.ch
}

func lgA(l sync.Locker, ch chan int) { lgB(l, ch) }
func lgB(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

// two helpers deep, caller holds two read locks: one stays held.
func (r *RK) twoDeep() {
	r.mu.RLock()
	r.mu.RLock()
	lgA(r.mu.RLocker(), r.ch) // want `call to attackrelease3.lgA, which may block`
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// one held, two helpers deep: quiet.
func (r *RK) oneDeep() {
	r.mu.RLock()
	lgA(r.mu.RLocker(), r.ch)
	r.mu.RUnlock()
}

// deferred RLocker unlock: held at the wait.
func (r *RK) deferred() {
	l := r.mu.RLocker()
	l.Lock()
	defer l.Unlock()
	<-r.ch // want `channel receive while r.mu may be held`
}

// write lock held, the RLocker is let go: the write lock stays held.
func (r *RK) writeHeld() {
	r.mu.Lock()
	lgA(r.mu.RLocker(), r.ch) // want `call to attackrelease3.lgA, which may block`
	r.mu.Unlock()
}

// field-stored RLocker, locked via the field.
func (r *RK) field() {
	r.rl.Lock()
	<-r.ch // want `channel receive while r.rl may be held`
	r.rl.Unlock()
}

func (r *RK) fieldPass() {
	r.mu.RLock()
	r.mu.RLock()
	lgA(r.rl, r.ch) // want `call to attackrelease3.lgA, which may block`
	r.mu.RUnlock()
	r.mu.RUnlock()
}
