// Package p holds the cases that broke the promises of grouping, each
// with the findings it must give.
package p

import (
	"iter"
	"sync"
)

var ch chan int

func wait() { <-ch }

// Two receives on one line are two waits.
type Pair struct {
	mu   sync.Mutex
	a, b chan int
}

func (s *Pair) sum() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return <-s.a + <-s.b // want `channel receive while s.mu may be held \(locked at p.go:21\): copy what you need out of the lock and unlock it before the receive$` `channel receive while s.mu may be held \(locked at p.go:21\): copy what you need out of the lock and unlock it before the receive$`
}

// Local locks of a function and of its range-over-func loop body are two
// classes.
func outer(seq iter.Seq[int]) {
	var mu1 sync.Mutex
	mu1.Lock()
	wait() // want `while mu1 may be held \(locked at p.go:30\): copy what you need out of the lock and unlock it before the call$`
	mu1.Unlock()
	for range seq {
		var mu2 sync.Mutex
		mu2.Lock()
		wait() // want `while mu2 may be held \(locked at p.go:35\): copy what you need out of the lock and unlock it before the call$`
		mu2.Unlock()
	}
}

// Elements of a package variable are classes of their own at each place
// they are taken.
var shards []sync.Mutex

func a(i int) {
	shards[i].Lock()
	defer shards[i].Unlock()
	wait() // want `while shards\[...\] may be held \(locked at p.go:46\): copy what you need out of the lock and unlock it before the call$`
}

func b(i int) {
	shards[i].Lock()
	defer shards[i].Unlock()
	wait() // want `while shards\[...\] may be held \(locked at p.go:52\): copy what you need out of the lock and unlock it before the call$`
}

// One field read-locked directly and through RLocker is one class; so is
// one pointer field.
type RW struct{ mu sync.RWMutex }

func (s *RW) c() { s.mu.RLock(); defer s.mu.RUnlock(); wait() } // want `while s.mu may be held \(read-locked at p.go:61\): copy what you need out of the lock and unlock it before the call; 2 more sites wait the same way$`
func (s *RW) d() { l := s.mu.RLocker(); l.Lock(); defer l.Unlock(); wait() }
func (s *RW) e() { s.mu.RLock(); defer s.mu.RUnlock(); wait() }

type P struct{ mu *sync.Mutex }

func (p *P) f() { p.mu.Lock(); defer p.mu.Unlock(); wait() } // want `while p.mu may be held \(locked at p.go:67\): copy what you need out of the lock and unlock it before the call; 1 more site waits the same way$`
func (p *P) g() { p.mu.Lock(); defer p.mu.Unlock(); wait() }

// A wait made directly and one reached through a call are the same wait.
type Node struct {
	mu    sync.Mutex
	ch    chan int
	child *Node
}

func (n *Node) next() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return <-n.ch // want `channel receive while n.mu may be held \(locked at p.go:78\): copy what you need out of the lock and unlock it before the receive; 1 more site waits the same way$`
}

func (n *Node) drain() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.child.next()
}

// Instances of a generic type share its field's class.
type Box[T any] struct {
	mu sync.Mutex
	v  T
}

type Ints struct{ b Box[int] }
type Strs struct{ b Box[string] }

func (x *Ints) h() { x.b.mu.Lock(); defer x.b.mu.Unlock(); wait() } // want `while x.b.mu may be held \(locked at p.go:98\): copy what you need out of the lock and unlock it before the call; 1 more site waits the same way$`
func (x *Strs) i() { x.b.mu.Lock(); defer x.b.mu.Unlock(); wait() }

// A message that the shorter advice still leaves past 300 bytes leaves
// out where its locks were taken, which its related positions keep.
type Server struct {
	accountsMutexOfTheServer sync.Mutex
	accounts                 map[string]*Account
}

type Account struct{ jetStreamReservationsMutex sync.RWMutex }

func waitForTheFollowersOfTheRaftGroupToAcknowledgeTheAppendedEntries() { <-ch }

func (srv *Server) j(name string) {
	srv.accountsMutexOfTheServer.Lock()
	defer srv.accountsMutexOfTheServer.Unlock()
	acc := srv.accounts[name]
	acc.jetStreamReservationsMutex.RLock()
	defer acc.jetStreamReservationsMutex.RUnlock()
	waitForTheFollowersOfTheRaftGroupToAcknowledgeTheAppendedEntries() // want `^call to p.waitForTheFollowersOfTheRaftGroupToAcknowledgeTheAppendedEntries, which may block \(channel receive at p.go:110\) while srv.accountsMutexOfTheServer and srv.accounts\[...\].jetStreamReservationsMutex may be held: unlock it before the call; 1 more site waits the same way$`
}

func (srv *Server) k(name string) {
	srv.accountsMutexOfTheServer.Lock()
	defer srv.accountsMutexOfTheServer.Unlock()
	acc := srv.accounts[name]
	acc.jetStreamReservationsMutex.RLock()
	defer acc.jetStreamReservationsMutex.RUnlock()
	waitForTheFollowersOfTheRaftGroupToAcknowledgeTheAppendedEntries()
}

// A pointer field reached from a closure, through the variable that holds
// its receiver, is of the field's class too.
type PF struct{ pmu *sync.Mutex }

func (s *PF) l() {
	s.pmu.Lock()
	wait() // want `while s.pmu may be held \(locked at p.go:135\): copy what you need out of the lock and unlock it before the call; 1 more site waits the same way$`
	s.pmu.Unlock()
}

func (s *PF) m() {
	f := func() {
		s.pmu.Lock()
		wait()
		s.pmu.Unlock()
	}
	f()
}
