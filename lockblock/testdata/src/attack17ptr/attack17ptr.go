// Package attack17ptr gives a Cond another lock through a pointer to it,
// which the package cannot follow: no Cond's lock is known by where it
// is kept, and the wait stays reported.
package attack17ptr

import "sync"

// viaPtr's Cond is given another lock through a pointer to it.
type viaPtr struct {
	mu   *sync.Mutex
	cond sync.Cond
	busy bool
}

func (v *viaPtr) init(mu *sync.Mutex) { v.mu = mu; v.cond.L = mu }

func setL(c *sync.Cond, l sync.Locker) { c.L = l }

func (v *viaPtr) retarget(l *sync.Mutex) { setL(&v.cond, l) }

func (v *viaPtr) wait() {
	for v.busy {
		v.cond.Wait()
	}
}

type ownerF struct {
	mu sync.Mutex
	v  *viaPtr
}

func newOwnerF() *ownerF {
	o := &ownerF{v: &viaPtr{}}
	o.v.init(&o.mu)
	return o
}

func (o *ownerF) use() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.v.wait() // want `call to attack17ptr.viaPtr.wait, which may block \(call to sync.Cond.Wait at attack17ptr.go:\d+\) while o.mu may be held`
}
