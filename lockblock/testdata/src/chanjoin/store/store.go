// Package store has a method that takes its receiver's lock, which a
// goroutine of a fork calls while the join holds that lock.
package store

import "sync"

type DB struct {
	Mu sync.Mutex
	n  int
}

func (d *DB) Count() int {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.n
}
