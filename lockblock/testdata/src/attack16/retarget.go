package attack16

import "sync"

// moved's Cond is given another lock after its constructor: its lock is
// not known, and the wait under two locks is reported.
type moved struct {
	mu   *sync.Mutex
	cond sync.Cond
	busy bool
}

func (m *moved) init(mu *sync.Mutex)    { m.mu = mu; m.cond.L = mu }
func (m *moved) retarget(l *sync.Mutex) { m.cond.L = l }
func (m *moved) setCond(c *sync.Cond)   { m.cond = *c }
func (m *moved) wait() {
	for m.busy {
		m.cond.Wait()
	}
}

type owner struct {
	mu    sync.Mutex
	other sync.Mutex
	m     *moved
}

func newOwner() *owner {
	o := &owner{m: &moved{}}
	o.m.init(&o.mu)
	return o
}

func (o *owner) use() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m.wait() // want `call to attack16.moved.wait, which may block \(call to sync.Cond.Wait at retarget.go:\d+\) while o.mu may be held`
}
