// Package attack17iface calls the constructor of a kept Cond lock
// through an interface too, with a package lock: the lock of a set is not
// known by where it is kept, and the wait stays reported.
package attack17iface

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

type initer interface{ init(*sync.Mutex) }

type db struct {
	mu sync.Mutex
	vs *versionSet
}

var (
	global sync.Mutex
	shared = &versionSet{}
)

func open() *db {
	d := &db{vs: &versionSet{}}
	d.vs.init(&d.mu)
	var i initer = shared
	i.init(&global)
	return d
}

func (d *db) apply() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.vs.logLock() // want `call to attack17iface.versionSet.logLock, which may block \(call to sync.Cond.Wait at attack17iface.go:\d+\) while d.mu may be held`
}
