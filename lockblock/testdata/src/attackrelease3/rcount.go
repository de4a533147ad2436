package attackrelease3

import "sync"

type RC struct {
	mu   sync.RWMutex
	ch   chan int
	cond bool
	n    int
}

// letGo5 lets five read locks go around the wait.
func (r *RC) letGo5() {
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

func (r *RC) five() {
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	// Known and documented: more than four read locks let go are taken
	// to leave one held.
	r.letGo5() // want `call to attackrelease3.RC.letGo5, which may block \(channel receive at rcount.go:19\) while r.mu may be held`
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
}

func (r *RC) six() {
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.letGo5() // want `call to attackrelease3.RC.letGo5, which may block`
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// takeSome takes two read locks on one path, none on the other.
func (r *RC) takeSome() {
	if r.cond {
		r.mu.RLock()
		r.mu.RLock()
	}
}

func (r *RC) useTakeSome() {
	r.takeSome()
	r.mu.RUnlock()
	<-r.ch // want `channel receive while r.mu may be held`
}

// takeLoop takes n read locks.
func (r *RC) takeLoop() {
	for i := 0; i < r.n; i++ {
		r.mu.RLock()
	}
}

func (r *RC) useTakeLoop() {
	r.takeLoop()
	r.mu.RUnlock()
	<-r.ch // want `channel receive while r.mu may be held`
}

// relLoop lets n read locks go.
func (r *RC) relLoop() {
	for i := 0; i < r.n; i++ {
		r.mu.RUnlock()
	}
}

func (r *RC) useRelLoop() {
	r.mu.RLock()
	r.mu.RLock()
	r.relLoop()
	<-r.ch // want `channel receive while r.mu may be held`
}

// three levels: each lets one go.
func (r *RC) l1() { r.mu.RUnlock(); <-r.ch; r.mu.RLock() }
func (r *RC) l2() { r.mu.RUnlock(); r.l1(); r.mu.RLock() }
func (r *RC) l3() { r.mu.RUnlock(); r.l2(); r.mu.RLock() }

func (r *RC) useL3three() {
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.l3()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
}

func (r *RC) useL3four() {
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RLock()
	r.l3() // want `call to attackrelease3.RC.l3, which may block`
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
	r.mu.RUnlock()
}

// deferred RUnlock mix.
func (r *RC) deferMix() {
	r.mu.RLock()
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.mu.RUnlock()
	<-r.ch // want `channel receive while r.mu may be held`
}

// helper that releases with a deferred RUnlock after its wait.
func (r *RC) deferRel() {
	defer r.mu.RUnlock()
	<-r.ch // the caller's read lock is held here
}

func (r *RC) useDeferRel() {
	r.mu.RLock()
	r.deferRel() // want `call to attackrelease3.RC.deferRel, which may block`
	<-r.ch
}
