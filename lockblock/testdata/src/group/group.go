// Package group holds the cases of grouping: the sites that hold locks of
// the same classes across the same wait are one finding.
package group

import "sync"

type S struct {
	mu    sync.Mutex
	other sync.Mutex
	rw    sync.RWMutex
	ch    chan int
}

func (s *S) wait() { <-s.ch }

func (s *S) viaHelper() { s.wait() }

// a, b and c hold s.mu, reached through three roots, across the wait in
// s.wait, directly or through a helper: one finding, at a.
func (s *S) a() {
	s.mu.Lock()
	s.wait() // want `call to group.S.wait, which may block \(channel receive at group.go:14\) while s.mu may be held \(locked at group.go:21\): copy what you need out of the lock and unlock it before the call; 2 more sites wait the same way`
	s.mu.Unlock()
}

func (s *S) b() {
	s.mu.Lock()
	s.viaHelper() // with a's
	s.mu.Unlock()
}

func c(list []*S) {
	list[0].mu.Lock()
	list[0].wait() // with a's
	list[0].mu.Unlock()
}

// Another lock across the same wait is a finding of its own.
func (s *S) d() {
	s.other.Lock()
	s.wait() // want `call to group.S.wait, which may block \(channel receive at group.go:14\) while s.other may be held \(locked at group.go:40\): copy what you need out of the lock and unlock it before the call$`
	s.other.Unlock()
}

// So are both locks together.
func (s *S) e() {
	s.mu.Lock()
	s.other.Lock()
	s.wait() // want `call to group.S.wait, which may block \(channel receive at group.go:14\) while s.mu \(locked at group.go:47\) and s.other \(locked at group.go:48\) may be held: copy what you need out of the lock and unlock it before the call$`
	s.other.Unlock()
	s.mu.Unlock()
}

// Another wait under the same lock is a finding of its own.
func (s *S) f() {
	s.mu.Lock()
	<-s.ch // want `channel receive while s.mu may be held \(locked at group.go:56\): copy what you need out of the lock and unlock it before the receive$`
	s.mu.Unlock()
}

// The read lock and the write lock of one RWMutex are two classes.
func (s *S) g() {
	s.rw.RLock()
	s.wait() // want `call to group.S.wait, which may block \(channel receive at group.go:14\) while s.rw may be held \(read-locked at group.go:63\): copy what you need out of the lock and unlock it before the call; 1 more site waits the same way`
	s.rw.RUnlock()
}

func (s *S) h() {
	s.rw.RLock()
	s.wait() // with g's
	s.rw.RUnlock()
}

func (s *S) i() {
	s.rw.Lock()
	s.wait() // want `call to group.S.wait, which may block \(channel receive at group.go:14\) while s.rw may be held \(locked at group.go:75\): copy what you need out of the lock and unlock it before the call$`
	s.rw.Unlock()
}

// Local locks of two functions are two classes, though they wait for the
// same channel in the same helper.
var shared = make(chan int)

func take() { <-shared }

func j() {
	var mu sync.Mutex
	mu.Lock()
	take() // want `call to group.take, which may block \(channel receive at group.go:84\) while mu may be held \(locked at group.go:88\): copy what you need out of the lock and unlock it before the call$`
	mu.Unlock()
}

func k() {
	var mu sync.Mutex
	mu.Lock()
	take() // want `call to group.take, which may block \(channel receive at group.go:84\) while mu may be held \(locked at group.go:95\): copy what you need out of the lock and unlock it before the call$`
	mu.Unlock()
}

// A package variable is one class in every function.
var global sync.Mutex

func l() {
	global.Lock()
	take() // want `call to group.take, which may block \(channel receive at group.go:84\) while global may be held \(locked at group.go:104\): copy what you need out of the lock and unlock it before the call; 1 more site waits the same way`
	global.Unlock()
}

func m() {
	global.Lock()
	defer global.Unlock()
	take() // with l's
}

// A site silenced by a directive is no site of its group: the group is
// reported at the first site left.
type T struct {
	mu sync.Mutex
	ch chan int
}

func (t *T) wait() { <-t.ch }

func (t *T) n() {
	t.mu.Lock()
	t.wait() //lockblock:ignore n runs only before the receiver starts
	t.mu.Unlock()
}

func (t *T) o() {
	t.mu.Lock()
	t.wait() // want `call to group.T.wait, which may block \(channel receive at group.go:122\) while t.mu may be held \(locked at group.go:131\): copy what you need out of the lock and unlock it before the call; 1 more site waits the same way`
	t.mu.Unlock()
}

func (t *T) p() {
	t.mu.Lock()
	t.wait() // with o's
	t.mu.Unlock()
}

// A message longer than 300 bytes gives its advice in fewer words: here
// only once the count of the other sites is added.
type Long struct {
	firstLockOfALongName  sync.Mutex
	secondLockOfALongName sync.Mutex
	ch                    chan int
}

func (l *Long) waitForTheChannel() { <-l.ch }

func (l *Long) q() {
	l.firstLockOfALongName.Lock()
	l.secondLockOfALongName.Lock()
	l.waitForTheChannel() // want `^call to group.Long.waitForTheChannel, which may block \(channel receive at group.go:150\) while l.firstLockOfALongName \(locked at group.go:153\) and l.secondLockOfALongName \(locked at group.go:154\) may be held: unlock it before the call; 1 more site waits the same way$`
	l.secondLockOfALongName.Unlock()
	l.firstLockOfALongName.Unlock()
}

func (l *Long) r() {
	l.firstLockOfALongName.Lock()
	l.secondLockOfALongName.Lock()
	l.waitForTheChannel() // with q's
	l.secondLockOfALongName.Unlock()
	l.firstLockOfALongName.Unlock()
}
