// Package pathsense holds the shapes of real code that a path-insensitive
// analysis reports falsely: locks taken and released under the same
// condition, a lock reached through two roots, channels that have room.
// Each clean function must stay clean; each want must stay reported.
package pathsense

import "sync"

type S struct {
	mu    sync.RWMutex
	cache map[string]int
	ch    chan int
}

// condPair takes and releases the lock under the same condition: the
// path that skipped the Lock skips the Unlock too.
func (s *S) condPair(doLock bool) {
	if doLock {
		s.mu.Lock()
	}
	s.cache["a"] = 1
	if doLock {
		s.mu.Unlock()
	}
	s.ch <- 1
}

// condPairNegated releases under the negation of a negation.
func (s *S) condPairNegated(locked bool) {
	if !locked {
		s.mu.Lock()
	}
	s.cache["a"] = 1
	if !locked {
		s.mu.Unlock()
	}
	<-s.ch
}

// writeOrRead takes the write or the read lock and releases the one it
// took.
func (s *S) writeOrRead(write, doLock bool) {
	if doLock {
		if write {
			s.mu.Lock()
		} else {
			s.mu.RLock()
		}
	}
	s.cache["b"]++
	if doLock {
		if write {
			s.mu.Unlock()
		} else {
			s.mu.RUnlock()
		}
	}
	s.ch <- 2
}

// condPairKept keeps the lock on one branch: still reported.
func (s *S) condPairKept(doLock, early bool) {
	if doLock {
		s.mu.Lock()
	}
	if early {
		s.ch <- 3 // want `channel send while s.mu may be held`
	}
	if doLock {
		s.mu.Unlock()
	}
}

// lookup defers its unlock inside the conditional: it leaves nothing held
// for its caller.
func (s *S) lookup(k string, doLock bool) int {
	if doLock {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	return s.cache[k]
}

func (s *S) useLookup() {
	_ = s.lookup("k", true)
	s.ch <- 4
}

// condDeferBlocks defers its unlock inside the conditional and blocks
// before return: reported, the lock is still held there.
func (s *S) condDeferBlocks(doLock bool) {
	if doLock {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	s.ch <- 5 // want `channel send while s.mu may be held`
}

// DB and Tx name one lock through two roots: the Tx keeps the DB it was
// made for.
type DB struct {
	mu sync.Mutex
	ch chan int
}

type Tx struct {
	db *DB
}

func (db *DB) begin() {
	tx := &Tx{db: db}
	db.mu.Lock()
	tx.db.mu.Unlock()
	db.ch <- 1
}

func (tx *Tx) rollback() {
	tx.db.mu.Unlock()
}

func (db *DB) beginHelper() {
	tx := &Tx{db: db}
	db.mu.Lock()
	tx.rollback()
	db.ch <- 2
}

// filledThenRead fills a new buffered channel under the lock and reads it
// later through a closure: no other goroutine can reach it while it is
// filled.
func (s *S) filledThenRead(keys []string) func() string {
	out := make(chan string, len(keys))
	s.mu.RLock()
	for _, k := range keys {
		out <- k
	}
	s.mu.RUnlock()
	return func() string { return <-out }
}

// filledShared hands the channel out before it fills it: reported.
func (s *S) filledShared(keys []string) func() string {
	out := make(chan string, len(keys))
	next := func() string { return <-out }
	go next()
	s.mu.RLock()
	for _, k := range keys {
		out <- k // want `channel send while s.mu may be held`
	}
	s.mu.RUnlock()
	return next
}

// A token semaphore: made full, each acquire takes a token and each
// release gives it back, so a release always has room.
type sem struct {
	ch chan struct{}
}

func newSem(n int) *sem {
	s := &sem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func (s *sem) acquire() { <-s.ch }
func (s *sem) release() { s.ch <- struct{}{} }

type Store struct {
	mu   sync.Mutex
	dios *sem
	data []byte
}

// write acquires under the lock, which waits for a token (reported), and
// releases, which does not.
func (st *Store) write(b []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.dios.acquire() // want `call to pathsense.sem.acquire.* while st.mu may be held`
	st.data = append(st.data, b...)
	st.dios.release()
}

// newS makes the channel that giveBack takes from and gives back to
// buffered: the package sets it to nothing else.
func newS(n int) *S { return &S{ch: make(chan int, n), cache: map[string]int{}} }

// giveBack takes a token from a channel and gives one back in one
// function: the send always has room. (Putting back the value taken, a
// requeue, may find the channel filled by other senders meanwhile, and
// is reported.)
func (s *S) giveBack() {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := <-s.ch // want `channel receive while s.mu may be held`
	s.cache["v"] = v
	s.ch <- 1
}

// deferredAfterCondLock defers a call that blocks, then takes a second
// lock and defers its unlock only where it took it: the unlocks run
// first, so the deferred call runs with no lock held.
func (s *S) deferredAfterCondLock(e *sync.Mutex) {
	defer func() {
		s.ch <- 6
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e != nil {
		e.Lock()
		defer e.Unlock()
	}
	s.cache["e"] = 6
}

// enqueue sends only when asked to flush: a caller that passes false, a
// constant or its own constant, never waits there.
func (s *S) enqueue(v int, flush bool) {
	s.cache["q"] = v
	if flush {
		s.ch <- v
	}
}

func (s *S) enqueueOnly(v int) { s.enqueue(v, false) }

func (s *S) enqueueUnless(v int, noFlush bool) { s.enqueue(v, !noFlush) }

func (s *S) useEnqueue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueOnly(1)
	s.enqueue(2, false)
	s.enqueueUnless(3, true)
	s.enqueue(4, true)        // want `call to pathsense\.S\.enqueue, which may block \(channel send at pathsense\.go:\d+\) while s\.mu may be held`
	s.enqueueUnless(5, false) // want `call to pathsense\.S\.enqueueUnless, which may block`
}

// beginTx returns a Tx that holds db.mu, which the Tx releases as
// tx.db.mu: the unlock names the same lock through another root.
func (db *DB) beginTx() *Tx {
	db.mu.Lock()
	return &Tx{db: db}
}

func (db *DB) view() {
	tx := db.beginTx()
	defer tx.rollback()
}

func (db *DB) useView() {
	db.view()
	db.ch <- 3
}

// begin takes the writer's lock or the readers' as asked; a caller that
// asks for a writer holds only the writer's lock.
type Store2 struct {
	rw     sync.Mutex
	readMu sync.RWMutex
	ch     chan int
}

func (st *Store2) begin(writable bool) {
	if writable {
		st.rw.Lock()
	} else {
		st.readMu.RLock()
	}
}

func (st *Store2) update() {
	st.begin(true)
	st.rw.Unlock()
	st.ch <- 1
}

// beginLogged captures its parameter in a closure, which keeps it in a
// cell: the branch on it is still ruled by the constant argument.
func (st *Store2) beginLogged(writable bool) {
	defer func() { _ = writable }()
	if writable {
		st.rw.Lock()
	} else {
		st.readMu.RLock()
	}
}

func (st *Store2) updateLogged() {
	st.beginLogged(true)
	st.rw.Unlock()
	st.ch <- 2
}
