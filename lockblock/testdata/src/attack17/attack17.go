// Package attack17 keeps what a second attack on Conds whose lock is kept
// beside them found: a lock of the kept field's kind held while the wait
// lets go of another one, the lock of another owner or of another set.
// Each wait here stays reported, but in apply and newQueue's package.
package attack17

import (
	"sync"
	"time"
)

type versionSet struct {
	mu         *sync.Mutex
	writerCond sync.Cond
	writing    bool
}

func (vs *versionSet) init(mu *sync.Mutex) { vs.mu = mu; vs.writerCond.L = mu }

func (vs *versionSet) logLock() {
	for vs.writing {
		vs.writerCond.Wait()
	}
	vs.writing = true
}

type db struct {
	mu    sync.Mutex
	mu2   sync.Mutex
	other sync.Mutex
	vs    *versionSet
	vs2   *versionSet
}

func open() *db {
	d := &db{vs: &versionSet{}, vs2: &versionSet{}}
	d.vs.init(&d.mu)
	d.vs2.init(&d.mu2)
	return d
}

// apply holds the lock of the set it waits on: not reported.
func (d *db) apply() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.vs.logLock()
}

// waitSecond holds d.mu and waits on the set of d.mu2.
func (d *db) waitSecond() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.vs2.logLock() // want `call to attack17.versionSet.logLock, which may block \(call to sync.Cond.Wait at attack17.go:\d+\) while d.mu may be held`
}

// follow holds d.mu and waits on another db's set.
func (d *db) follow(leader *db) {
	d.mu.Lock()
	defer d.mu.Unlock()
	leader.vs.logLock() // want `call to attack17.versionSet.logLock, which may block \(call to sync.Cond.Wait at attack17.go:\d+\) while d.mu may be held`
}

// pause lets go of another db's lock, not its own, and sleeps.
func (d *db) pause(leader *db) {
	d.mu.Lock()
	leader.vs.mu.Unlock()
	time.Sleep(time.Millisecond) // want `call to time.Sleep, which sleeps while d.mu may be held`
	leader.vs.mu.Lock()
	d.mu.Unlock()
}

// handoff's goroutine takes d.mu and waits on the set of d.mu2.
func (d *db) handoff() {
	d.mu2.Lock()
	go func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.vs2.logLock() // want `call to attack17.versionSet.logLock, which may block \(call to sync.Cond.Wait at attack17.go:\d+\) while d.mu may be held`
		d.mu2.Unlock()
	}()
}

// f waits on another db's set, then lets go of its own lock.
func (d *db) f(leader *db) {
	leader.vs.logLock()
	d.mu.Unlock()
}

func g(d, leader *db) {
	leader.vs.mu.Lock()
	d.mu.Lock()
	d.f(leader) // want `call to attack17.db.f, which may block \(call to sync.Cond.Wait at attack17.go:\d+\) while .*d.mu`
	leader.vs.mu.Unlock()
}

// A Cond made whole elsewhere in the package leaves the kept lock known.
type queue struct {
	mu   sync.Mutex
	cond *sync.Cond
}

func newQueue() *queue {
	q := &queue{}
	q.cond = &sync.Cond{L: &q.mu}
	return q
}

// midSleep lets go of the caller's other lock, then sleeps holding the
// set's lock, which the caller holds by the pointer's name.
func (vs *versionSet) midSleep(x *sync.Mutex) {
	x.Unlock()
	time.Sleep(time.Millisecond)
	vs.logLock()
	x.Lock()
}

func (d *db) bothSleep() {
	d.other.Lock()
	d.vs.mu.Lock()
	d.vs.midSleep(&d.other) // want `call to attack17.versionSet.midSleep, which may block \(call to time.Sleep at attack17.go:\d+\) while d.vs.mu may be held`
	d.vs.mu.Unlock()
	d.other.Unlock()
}

// adopter keeps a db's set under a field of the same name, beside a lock
// of its own of the same name: the set's lock is the db's, not its own.
type adopter struct {
	mu sync.Mutex
	vs *versionSet
}

func (a *adopter) adopt(d *db) { a.vs = d.vs }

func (a *adopter) use() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.vs.logLock() // want `call to attack17.versionSet.logLock, which may block \(call to sync.Cond.Wait at attack17.go:\d+\) while a.mu may be held`
}

// midSleep2 lets go of the caller's other lock, then sleeps holding
// d.mu, which its set's wait, after the sleep, lets go of.
func (d *db) midSleep2(x *sync.Mutex) {
	x.Unlock()
	time.Sleep(time.Millisecond)
	d.vs.logLock()
	x.Lock()
}

func (d *db) bothSleep2() {
	d.other.Lock()
	d.mu.Lock()
	d.midSleep2(&d.other) // want `call to attack17.db.midSleep2, which may block \(call to time.Sleep at attack17.go:\d+\) while d.mu may be held`
	d.mu.Unlock()
	d.other.Unlock()
}
