// Package condptr holds Conds whose lock a constructor is handed and
// keeps beside them in a pointer field: pebble's version set waits on
// writerCond, whose L is the database's mutex, which the caller holds.
package condptr

import (
	"sync"
	"time"
)

type versionSet struct {
	mu         *sync.Mutex
	writerCond sync.Cond
	writing    bool
}

func (vs *versionSet) init(mu *sync.Mutex) {
	vs.mu = mu
	vs.writerCond.L = mu
}

// logLock waits, letting go of the caller's lock, for the writer before.
func (vs *versionSet) logLock() {
	for vs.writing {
		vs.writerCond.Wait()
	}
	vs.writing = true
}

func (vs *versionSet) logUnlock() {
	vs.writing = false
	vs.writerCond.Signal()
}

type db struct {
	mu struct {
		sync.Mutex
		versions *versionSet
	}
	commit sync.Mutex
}

func open() *db {
	d := &db{}
	d.mu.versions = &versionSet{}
	d.mu.versions.init(&d.mu.Mutex)
	return d
}

// apply holds only d.mu, which the wait lets go of.
func (d *db) apply() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mu.versions.logLock()
	d.mu.versions.logUnlock()
}

// applyLater reaches the wait through a func literal.
func (d *db) applyLater() {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := func() {
		d.mu.versions.logLock()
	}
	f()
	d.mu.versions.logUnlock()
}

// committed holds the commit lock too, which the wait keeps.
func (d *db) committed() {
	d.commit.Lock()
	defer d.commit.Unlock()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mu.versions.logLock() // want `call to condptr.versionSet.logLock, which may block \(call to sync.Cond.Wait at condptr.go:\d+\) while d.commit`
}

// logAndApply waits for the writer before, then lets go of the lock the
// field points to while it writes: pebble's manifest write.
func (vs *versionSet) logAndApply(write func() error) error {
	vs.logLock()
	defer vs.logUnlock()
	vs.mu.Unlock()
	defer vs.mu.Lock()
	return write()
}

// applyWrite holds d.mu, which both the wait and the unlock let go of.
func (d *db) applyWrite(write func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.mu.versions.logAndApply(write)
}

// logSleep lets go of the lock the field points to, and sleeps after it
// has taken it back.
func (vs *versionSet) logSleep() {
	vs.mu.Unlock()
	vs.mu.Lock()
	time.Sleep(time.Millisecond) // want `call to time.Sleep, which sleeps while vs.mu may be held`
}

// applySleep sleeps holding d.mu.
func (d *db) applySleep() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mu.versions.logSleep() // want `call to condptr.versionSet.logSleep, which may block \(call to time.Sleep at condptr.go:\d+\) while d.mu.Mutex may be held`
}

// applyThenSleep holds d.mu again once logAndApply returns.
func (d *db) applyThenSleep(write func() error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = d.mu.versions.logAndApply(write)
	time.Sleep(time.Millisecond) // want `call to time.Sleep, which sleeps while d.mu.Mutex may be held`
}
