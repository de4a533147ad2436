// Package attack16 keeps what an attack on Conds whose lock is kept
// beside them found: locks taken for the Cond's that are not its lock.
// Each wait here stays reported, but the last, which lets go of the one
// lock held.
package attack16

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
	vs    *versionSet
	other sync.Mutex
}

func open() *db {
	d := &db{vs: &versionSet{}}
	d.vs.init(&d.mu)
	return d
}

// step lets go of the Cond's lock in the wait, then sleeps holding it,
// handed in under another name.
func step(mu *sync.Mutex, vs *versionSet) {
	vs.logLock()
	time.Sleep(time.Millisecond)
	mu.Unlock()
	mu.Lock()
}

func (d *db) apply() {
	d.mu.Lock()
	defer d.mu.Unlock()
	step(&d.mu, d.vs) // want `call to attack16.step, which may block \(call to sync.Cond.Wait at attack16.go:\d+\) while d.mu may be held`
}

// mid waits for the writer while the caller's other lock, x, is held.
func (vs *versionSet) mid(x *sync.Mutex) {
	vs.logLock()
	x.Unlock()
}

func (d *db) both() {
	d.other.Lock()
	d.vs.mu.Lock()
	d.vs.mid(&d.other) // want `call to attack16.versionSet.mid, which may block \(call to sync.Cond.Wait at attack16.go:\d+\) while d.other`
	d.vs.mu.Unlock()
}

// A goroutine that holds another lock than the Cond's.
func (d *db) handoff() {
	d.mu.Lock()
	go func() {
		d.other.Lock()
		defer d.other.Unlock()
		d.vs.logLock() // want `call to attack16.versionSet.logLock, which may block \(call to sync.Cond.Wait at attack16.go:\d+\) while d.other may be held`
	}()
}

type shard struct {
	mu sync.Mutex
	vs *versionSet
}

func newShard() *shard {
	s := &shard{vs: &versionSet{}}
	s.vs.init(&s.mu)
	return s
}

// Two shards' locks are named alike: the first stays held.
func lockTwo(s []*shard, i, j int) {
	s[i].mu.Lock()
	s[j].mu.Lock()
	s[j].vs.logLock() // want `call to attack16.versionSet.logLock, which may block \(call to sync.Cond.Wait at attack16.go:\d+\) while s\[...\].mu may be held`
	s[j].mu.Unlock()
	s[i].mu.Unlock()
}

// waitWriter waits on the Cond directly, holding its lock by the name it
// was given under: not reported.
func (d *db) waitWriter() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.vs.writing {
		d.vs.writerCond.Wait()
	}
}
