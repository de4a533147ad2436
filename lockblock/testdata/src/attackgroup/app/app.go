// Package app holds a lock across two waits whose messages read alike:
// two findings.
package app

import (
	"sync"

	storev1 "attackgroup/v1/store"
	storev2 "attackgroup/v2/store"
)

type Cache struct {
	mu  sync.Mutex
	old *storev1.Store
	cur *storev2.Store
}

func (c *Cache) old1() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.old.Get() // want `call to store.Store.Get, which may block \(channel receive at store.go:8\) while c.mu may be held \(locked at app.go:19\): copy what you need out of the lock and unlock it before the call$`
}

func (c *Cache) cur1() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur.Get() // want `call to store.Store.Get, which may block \(channel receive at store.go:8\) while c.mu may be held \(locked at app.go:25\): copy what you need out of the lock and unlock it before the call$`
}
