package condptr

import "sync"

// Each type below breaks one condition; its wait stays reported.

// moved's pointer field is set again, so it may point elsewhere than the
// Cond's lock.
type moved struct {
	mu   *sync.Mutex
	cond sync.Cond
	busy bool
}

func (m *moved) init(mu *sync.Mutex) {
	m.mu = mu
	m.cond.L = mu
}

func (m *moved) retarget(mu *sync.Mutex) { m.mu = mu }

func (m *moved) wait() {
	for m.busy {
		m.cond.Wait()
	}
}

type ownerA struct {
	mu sync.Mutex
	m  *moved
}

func (o *ownerA) use() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m.wait() // want `call to condptr.moved.wait, which may block \(call to sync.Cond.Wait at broken.go:\d+\) while o.mu may be held`
}

// apart's Cond is given another lock than its pointer field.
type apart struct {
	mu   *sync.Mutex
	cond sync.Cond
	busy bool
}

func (a *apart) init(mu, other *sync.Mutex) {
	a.mu = mu
	a.cond.L = other
}

func (a *apart) wait() {
	for a.busy {
		a.cond.Wait()
	}
}

type ownerB struct {
	mu sync.Mutex
	a  *apart
}

func (o *ownerB) use() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.a.wait() // want `call to condptr.apart.wait, which may block \(call to sync.Cond.Wait at broken.go:\d+\) while o.mu may be held`
}

// copied's struct is stored whole, which may bring another pointer.
type copied struct {
	mu   *sync.Mutex
	cond sync.Cond
	busy bool
}

func (c *copied) init(mu *sync.Mutex) {
	c.mu = mu
	c.cond.L = mu
}

func (c *copied) reset(mu *sync.Mutex) {
	*c = copied{mu: mu}
}

func (c *copied) wait() {
	for c.busy {
		c.cond.Wait()
	}
}

type ownerC struct {
	mu sync.Mutex
	c  *copied
}

func (o *ownerC) use() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.c.wait() // want `call to condptr.copied.wait, which may block \(call to sync.Cond.Wait at broken.go:\d+\) while o.mu may be held`
}

// Each is made as its constructor means it to be, so that only the broken
// condition keeps its lock unknown.
func newOwners() (*ownerA, *ownerB, *ownerC) {
	a := &ownerA{m: &moved{}}
	a.m.init(&a.mu)
	var other sync.Mutex
	b := &ownerB{a: &apart{}}
	b.a.init(&b.mu, &other)
	c := &ownerC{c: &copied{}}
	c.c.init(&c.mu)
	return a, b, c
}

// sharedSet's owner may take another owner's set, whose lock is the
// other's: the field it is kept in is not only set to new sets.
type sharedSet struct {
	mu   *sync.Mutex
	cond sync.Cond
	busy bool
}

func (s *sharedSet) init(mu *sync.Mutex) { s.mu = mu; s.cond.L = mu }

func (s *sharedSet) wait() {
	for s.busy {
		s.cond.Wait()
	}
}

type ownerD struct {
	mu sync.Mutex
	s  *sharedSet
}

func newOwnerD() *ownerD {
	o := &ownerD{s: &sharedSet{}}
	o.s.init(&o.mu)
	return o
}

func (o *ownerD) share(p *ownerD) { o.s = p.s }

func (o *ownerD) use() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.s.wait() // want `call to condptr.sharedSet.wait, which may block \(call to sync.Cond.Wait at broken.go:\d+\) while o.mu may be held`
}

// copiedSet is copied whole from another set, pointer and all.
type copiedSet struct {
	mu   *sync.Mutex
	cond sync.Cond
	busy bool
}

func (c *copiedSet) init(mu *sync.Mutex) { c.mu = mu; c.cond.L = mu }

func (c *copiedSet) from(o *copiedSet) { *c = *o }

func (c *copiedSet) wait() {
	for c.busy {
		c.cond.Wait()
	}
}

type ownerE struct {
	mu sync.Mutex
	c  *copiedSet
}

func newOwnerE() *ownerE {
	o := &ownerE{c: &copiedSet{}}
	o.c.init(&o.mu)
	return o
}

func (o *ownerE) use() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.c.wait() // want `call to condptr.copiedSet.wait, which may block \(call to sync.Cond.Wait at broken.go:\d+\) while o.mu may be held`
}
