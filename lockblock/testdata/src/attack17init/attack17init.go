// Package attack17init calls the constructor of a kept Cond lock from a
// package variable's initializer too, with a package lock: the lock of a
// set is not known by where it is kept, and the wait stays reported.
package attack17init

import "sync"

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
	mu sync.Mutex
	vs *versionSet
}

var globalMu sync.Mutex

var shared = func() *versionSet {
	vs := &versionSet{}
	vs.init(&globalMu)
	return vs
}()

func open() *db {
	d := &db{vs: &versionSet{}}
	d.vs.init(&d.mu)
	return d
}

func (d *db) apply() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.vs.logLock() // want `call to attack17init.versionSet.logLock, which may block \(call to sync.Cond.Wait at attack17init.go:\d+\) while d.mu may be held`
}
