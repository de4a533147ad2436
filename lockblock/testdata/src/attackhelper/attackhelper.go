// Package attackhelper checks lock and unlock helpers of the package.
package attackhelper

import "sync"

type S struct {
	mu    sync.Mutex
	ch    chan int
	ready bool
}

func (s *S) lock()   { s.mu.Lock() }
func (s *S) unlock() { s.mu.Unlock() }

// maybeUnlock releases mu on one path only.
func (s *S) maybeUnlock() {
	if s.ready {
		s.mu.Unlock()
	}
}

func (s *S) partialRelease() {
	s.mu.Lock()
	s.maybeUnlock()
	<-s.ch // want `channel receive while s.mu may be held`
}

// A method value of a lock helper takes the lock as the direct call does.
func (s *S) methodValueLock() {
	l := s.lock
	l()
	<-s.ch // want `channel receive while s.mu may be held`
	s.mu.Unlock()
}

// A method value of an unlock helper releases it.
func (s *S) methodValueUnlock() {
	u := s.unlock
	s.mu.Lock()
	u()
	<-s.ch
}

// A method expression of a lock helper.
func (s *S) methodExprLock() {
	(*S).lock(s)
	<-s.ch // want `channel receive while s.mu may be held`
	s.mu.Unlock()
}

// A lock helper on a package variable: the message must name the lock.
var gmu sync.Mutex

func glock() { gmu.Lock() }

func useGlock(ch chan int) {
	glock()
	ch <- 1 // want `channel send while gmu may be held \(locked at attackhelper.go:\d+\)`
	gmu.Unlock()
}

var state struct{ mu sync.Mutex }

func slock() { state.mu.Lock() }

func useSlock(ch chan int) {
	slock()
	ch <- 1 // want `channel send while state.mu may be held \(locked at attackhelper.go:\d+\)`
	state.mu.Unlock()
}

// A lock returned by a method: locked and unlocked through two calls that
// return the same lock, then released before the receive.
func (s *S) lockFor(int) *sync.Mutex { return &s.mu }

func (s *S) returnedLock() {
	s.lockFor(1).Lock()
	s.ready = true
	s.lockFor(1).Unlock()
	<-s.ch
}
