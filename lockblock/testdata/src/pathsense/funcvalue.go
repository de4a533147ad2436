package pathsense

import "sync"

// An unlock wrapped so that it runs at most once, called before the
// wait and deferred for the early returns: released where it is called.
func (s *S) onceFunc() {
	unlock := sync.OnceFunc(s.mu.Unlock)
	s.mu.Lock()
	defer unlock()
	if s.cache == nil {
		return
	}
	unlock()
	<-s.ch
}

// unlockOnce returns a func that unlocks l the first time it is called.
func unlockOnce(l sync.Locker) func() {
	var once sync.Once
	return func() { once.Do(l.Unlock) }
}

// The same through a helper of the package that returns the closure.
func (s *S) helperOnce() {
	unlock := unlockOnce(&s.mu)
	s.mu.Lock()
	defer unlock()
	if s.cache == nil {
		return
	}
	unlock()
	s.ch <- 1
}

// unlocker returns a func that unlocks mu.
func unlocker(mu *sync.RWMutex) func() {
	return func() { mu.Unlock() }
}

func (s *S) helperPlain() {
	unlock := unlocker(&s.mu)
	s.mu.Lock()
	unlock()
	<-s.ch
}

// Still reported: the closure does not unlock the lock that is held.
func (s *S) helperOther(other *sync.RWMutex) {
	unlock := unlocker(other)
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock()
	<-s.ch // want `channel receive while s\.mu may be held`
}

// once.Do runs its func: a wait in it is a wait under the lock.
func (s *S) onceWait(once *sync.Once) {
	s.mu.Lock()
	defer s.mu.Unlock()
	once.Do(func() { <-s.ch }) // want `call to the func literal at funcvalue\.go:\d+, which may block \(channel receive`
}

// waiter returns a func that receives n values from ch.
func waiter(ch chan int) func(n int) {
	return func(n int) {
		for range n {
			<-ch
		}
	}
}

// A returned closure that waits, called with an argument under the lock.
func (s *S) closureWithArgs() {
	wait := waiter(s.ch)
	s.mu.Lock()
	defer s.mu.Unlock()
	wait(2) // want `call to the func literal at funcvalue\.go:\d+, which may block \(channel receive`
}
