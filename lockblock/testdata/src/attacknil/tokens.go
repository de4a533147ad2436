// Package attacknil holds cases for two rules: branches on results that
// are always the constant nil (nils.go), and sends into token fields
// (tokens.go). Each case states the promise it checks; "was missed" and
// "was reported" mark the shapes that an earlier version got wrong.
package attacknil

import "sync"

// ---------------------------------------------------------------------
// Rule 2: sends into token fields. Each case states the promise.
// ---------------------------------------------------------------------

// T1 (was missed). Promise: a token field is one that a loop fills
// "while the channel is new". Here the field is set to a new UNBUFFERED
// channel, a worker that reads it is started, and then a loop kicks the
// worker with constants: the channel is no longer new (a consumer holds
// it) and it has no room at all. A send into it under the lock waits for
// the worker, which itself takes the lock.
type kicker struct {
	mu   sync.Mutex
	kick chan struct{}
	n    int
}

func (k *kicker) start(n int) {
	k.kick = make(chan struct{})
	go k.worker()
	for range n {
		k.kick <- struct{}{}
	}
}

func (k *kicker) worker() {
	for range k.kick {
		k.mu.Lock()
		k.n++
		k.mu.Unlock()
	}
}

func (k *kicker) poke() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.kick <- struct{}{} // want `channel send while k.mu may be held`
}

// T1b (was missed). The same loop, run under the lock: each send of
// the loop waits for the worker, which waits for the lock.
type kicker2 struct {
	mu   sync.Mutex
	kick chan struct{}
	n    int
}

func (k *kicker2) start(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.kick = make(chan struct{})
	go k.worker()
	for range n {
		k.kick <- struct{}{} // want `channel send while k.mu may be held`
	}
}

func (k *kicker2) worker() {
	for range k.kick {
		k.mu.Lock()
		k.n++
		k.mu.Unlock()
	}
}

// T2 (was missed). A buffered signal channel of capacity 1, handed
// to a consumer before a producer loop sends constants into it: a
// producer, not a semaphore fill. The send under the lock waits when
// the consumer is behind.
type ticker struct {
	mu    sync.Mutex
	ticks chan struct{}
	seen  int
}

func (t *ticker) run(n int) {
	t.ticks = make(chan struct{}, 1)
	go t.consume()
	for range n {
		t.mu.Lock()
		t.ticks <- struct{}{} // want `channel send while t.mu may be held`
		t.mu.Unlock()
	}
}

func (t *ticker) consume() {
	for range t.ticks {
		t.mu.Lock()
		t.seen++
		t.mu.Unlock()
	}
}

// T3 (was missed). Promise: "a loop in another function may fill it
// again while tokens are out". A semaphore made full of tokens in its
// constructor, and refilled by a loop of another function: the refill
// finds the channel full and waits. (pathsense's refilled case reports
// this loop only because no constructor fills the field.)
type sem struct {
	mu sync.Mutex
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

// release gives back what acquire took: not reported (rule held).
func (s *sem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{}
}

func (s *sem) refill(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.ch <- struct{}{} // want `channel send while s.mu may be held`
	}
}

// T4 (was missed). Promise: "a queue loaded with its first items is
// no semaphore". The field is a token field because one instance of the
// type is filled with constant tokens; another instance of the same type
// is a queue, and a send of a non-constant item into it is no give-back.
type box struct {
	mu sync.Mutex
	ch chan int
}

func newTokenBox(n int) *box {
	b := &box{ch: make(chan int, n)}
	for range n {
		b.ch <- 1
	}
	return b
}

func newQueue() *box { return &box{ch: make(chan int)} }

func (b *box) push(v int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ch <- v // want `channel send while b.mu may be held`
}

// T5 (was missed). A token field that another function points at a
// channel handed in (as handedIn in pathsense does, but in a separate
// function from the fill): sends into it may find no room.
type relay struct {
	mu  sync.Mutex
	out chan struct{}
}

func newRelay(n int) *relay {
	r := &relay{out: make(chan struct{}, n)}
	for range n {
		r.out <- struct{}{}
	}
	return r
}

func (r *relay) attach(ch chan struct{}) { r.out = ch }

func (r *relay) signal() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out <- struct{}{} // want `channel send while r.mu may be held`
}

// T6. The field is set to a new channel on one branch
// only before the loop, and to a handed-in channel on the other: not a
// token field.
type branchy struct {
	mu sync.Mutex
	ch chan struct{}
}

func (b *branchy) init(n int, ch chan struct{}) {
	if ch == nil {
		b.ch = make(chan struct{}, n)
	} else {
		b.ch = ch
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for range n {
		b.ch <- struct{}{} // want `channel send while b.mu may be held`
	}
}

// T7. Made on one branch only, nothing else stored:
// the make does not come before the loop on every path.
type maybeMade struct {
	mu sync.Mutex
	ch chan struct{}
}

func (m *maybeMade) init(n int) {
	if m.ch == nil {
		m.ch = make(chan struct{}, n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for range n {
		m.ch <- struct{}{} // want `channel send while m.mu may be held`
	}
}

// T8. A closure that captures a pointer it reassigns:
// the loop may fill another struct's channel.
type lazyPool struct {
	mu   sync.Mutex
	once sync.Once
	ch   chan struct{}
}

func (p *lazyPool) init(n int, other *lazyPool) {
	q := p
	p.once.Do(func() {
		q.ch = make(chan struct{}, n)
		q = other
		q.mu.Lock()
		for range n {
			q.ch <- struct{}{} // want `channel send while q.mu may be held`
		}
		q.mu.Unlock()
	})
}

// T9 (was missed). Same-function fill but with a channel of
// capacity 1 filled by a loop whose count is larger, with a consumer
// started before it: the loop's second send waits for the consumer,
// which needs the lock.
type small struct {
	mu sync.Mutex
	ch chan struct{}
	n  int
}

func (s *small) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch = make(chan struct{}, 1)
	go s.drain()
	for range 4 {
		s.ch <- struct{}{} // want `channel send while s.mu may be held`
	}
}

func (s *small) drain() {
	for range s.ch {
		s.mu.Lock()
		s.n++
		s.mu.Unlock()
	}
}

// T10 (was missed). The summary: a helper that sends into a token
// field of a different instance used as a queue blocks, so its caller
// under a lock must be reported.
func (b *box) pushHelper(v int) { b.ch <- v }

func (b *box) pushLocked(mu *sync.Mutex, v int) {
	mu.Lock()
	defer mu.Unlock()
	b.pushHelper(v) // want `call to attacknil.box.pushHelper.* while mu may be held`
}
