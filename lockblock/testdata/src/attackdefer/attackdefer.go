// Package attackdefer checks that deferred calls run in LIFO order at
// return, so a deferred blocking call registered after a deferred unlock
// runs while the lock is still held, and that an unlock-then-relock inside
// a deferred critical section leaves nothing held for the caller.
package attackdefer

import (
	"sync"
	"time"
)

type S struct {
	mu    sync.Mutex
	ch    chan int
	wg    sync.WaitGroup
	ready bool
}

// deferWait: defers run last-in first-out, so Wait runs before Unlock.
func (s *S) deferWait() {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.wg.Wait() // want `call to sync.WaitGroup.Wait, which waits for the WaitGroup while s.mu may be held`
}

// deferSend: the deferred closure sends before the deferred Unlock runs.
func (s *S) deferSend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.ch <- 1 }() // want `while s.mu may be held`
}

// recoverUnder: the recovering closure receives while mu is held.
func (s *S) recoverUnder() {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { // want `while s.mu may be held`
		if recover() != nil {
			<-s.ch
		}
	}()
	panic("boom")
}

// deferBeforeLock: registered before the lock, so it runs after the
// unlock: nothing to report.
func (s *S) deferBeforeLock() {
	defer s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
}

// waitReady releases mu while it sleeps, and mu is released at return by
// the deferred Unlock on every path.
func (s *S) waitReady() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.ready {
		s.mu.Unlock()
		time.Sleep(time.Millisecond)
		s.mu.Lock()
	}
}

// afterWaitReady holds nothing after waitReady returns.
func (s *S) afterWaitReady() {
	s.waitReady()
	<-s.ch
}

// relockOnce is the loop-free form of the same shape.
func (s *S) relockOnce() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.Unlock()
	time.Sleep(time.Millisecond)
	s.mu.Lock()
}

func (s *S) afterRelockOnce() {
	s.relockOnce()
	<-s.ch
}
