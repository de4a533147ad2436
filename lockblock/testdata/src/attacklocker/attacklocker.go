// Package attacklocker checks locks taken through sync.Locker: the lock
// is a sync.Mutex or sync.RWMutex, locked by its Lock method.
package attacklocker

import "sync"

var mu sync.Mutex

func viaLocker(ch chan int) {
	var l sync.Locker = &mu
	l.Lock()
	<-ch // want `channel receive while .* may be held`
	l.Unlock()
}

func viaRLocker(rw *sync.RWMutex, ch chan int) {
	rw.RLocker().Lock()
	<-ch // want `channel receive while .* may be held`
	rw.RLocker().Unlock()
}

// withLock's type parameter is instantiated with *sync.Mutex.
func withLock[L sync.Locker](l L, ch chan int) {
	l.Lock()
	<-ch // want `channel receive while .* may be held`
	l.Unlock()
}

func useWithLock(ch chan int) { withLock(&mu, ch) }

// Nested read locks: one RUnlock leaves a read lock held.
func nestedRLock(rw *sync.RWMutex, ch chan int) {
	rw.RLock()
	rw.RLock()
	rw.RUnlock()
	<-ch // want `channel receive while rw may be held`
	rw.RUnlock()
}
