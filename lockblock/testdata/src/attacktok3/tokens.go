// Package attacktok3 holds cases for two rules: sends into token fields
// (tokens.go) and sends into Prometheus metric channels (prom.go). Each
// case states the promise it checks.
package attacktok3

import "sync"

// ---------------------------------------------------------------------
// Fill loops. Promise: the loop "sends once a turn and stops at the
// channel's capacity" after "the function that set the field to a new
// buffered channel before the loop, with nothing in between that starts a
// goroutine, calls, waits or sends elsewhere": a semaphore made full of
// tokens. Each pool here is drained by acquire, which takes no lock; a
// fill that sends more than the channel holds waits for acquire with the
// lock held.
// ---------------------------------------------------------------------

// F1 (was missed). Two fill loops after one make: the second finds the channel full.
// A function that sends into the field more than once fills no token
// field, so the first loop's sends are reported too.
type twoFill struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *twoFill) init() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = make(chan struct{}, p.max)
	for i := 0; i < p.max; i++ {
		p.ch <- struct{}{} // want `channel send while p.mu may be held`
	}
	for i := 0; i < p.max; i++ {
		p.ch <- struct{}{} // want `channel send while p.mu may be held`
	}
}

func (p *twoFill) acquire() { <-p.ch }

// F2 (was missed). The fill loop inside another loop: the channel is filled twice.
type outerFill struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *outerFill) init() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = make(chan struct{}, p.max)
	for j := 0; j < 2; j++ {
		for i := 0; i < p.max; i++ {
			p.ch <- struct{}{} // want `channel send while p.mu may be held`
		}
	}
}

func (p *outerFill) acquire() { <-p.ch }

// F3 (was missed). One send before the loop: the loop's last turn finds it full.
// As in F1, every send is reported.
type preFill struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *preFill) init() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = make(chan struct{}, p.max)
	p.ch <- struct{}{} // want `channel send while p.mu may be held`
	for i := 0; i < p.max; i++ {
		p.ch <- struct{}{} // want `channel send while p.mu may be held`
	}
}

func (p *preFill) acquire() { <-p.ch }

// F4 (was missed). The bound is the field the make read, but the field is changed
// between the make and the loop: the loop runs past the capacity.
type grown struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *grown) init() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = make(chan struct{}, p.max)
	p.max *= 2
	for i := 0; i < p.max; i++ {
		p.ch <- struct{}{} // want `channel send while p.mu may be held`
	}
}

func (p *grown) acquire() { <-p.ch }

// F5 (was missed). The bound field is changed by the loop's body.
type growing struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *growing) init() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = make(chan struct{}, p.max)
	for i := 0; i < p.max; i++ {
		p.ch <- struct{}{} // want `channel send while p.mu may be held`
		if i == 0 {
			p.max++
		}
	}
}

func (p *growing) acquire() { <-p.ch }

// F6. A counter that starts at 1 and stops at <= max: max sends into room
// for max, but not the counted shape; the field is no token field and the
// release is reported.
type fromOne struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *fromOne) init() {
	p.ch = make(chan struct{}, p.max)
	for i := 1; i <= p.max; i++ {
		p.ch <- struct{}{}
	}
}

func (p *fromOne) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch <- struct{}{} // want `channel send while p.mu may be held`
}

// F7. A loop that goes back to its start with goto: more turns than the
// capacity.
type gotoFill struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *gotoFill) init() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = make(chan struct{}, p.max)
	again := true
top:
	for i := 0; i < p.max; i++ {
		p.ch <- struct{}{} // want `channel send while p.mu may be held`
		if again && i == p.max-1 {
			again = false
			goto top
		}
	}
}

func (p *gotoFill) acquire() { <-p.ch }

// F8. A break path that sends a second time in the last turn. As in F1, every send is reported.
type breakFill struct {
	mu  sync.Mutex
	max int
	ch  chan struct{}
}

func (p *breakFill) init() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ch = make(chan struct{}, p.max)
	for i := 0; i < p.max; i++ {
		p.ch <- struct{}{} // want `channel send while p.mu may be held`
		if i == p.max-1 {
			p.ch <- struct{}{} // want `channel send while p.mu may be held`
			break
		}
	}
}

func (p *breakFill) acquire() { <-p.ch }

// ---------------------------------------------------------------------
// Give-backs. Promise: "A give-back is a send of a constant that is not
// in a loop, follows no other send into the field in its function and is
// not in a function that calls itself (... a second send gives back more
// than was taken)".
// ---------------------------------------------------------------------

type tsem struct {
	mu sync.Mutex
	ch chan struct{}
}

func newTsem(n int) *tsem {
	s := &tsem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func (s *tsem) acquire() { <-s.ch }

// G0. One give-back: not reported.
func (s *tsem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{}
}

// G1. Two give-backs in different branches of a switch: one per call, not
// reported.
func (s *tsem) releaseKind(k int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch k {
	case 0:
		s.ch <- struct{}{}
	default:
		s.ch <- struct{}{}
	}
}

// G2 (was missed). A try-send in a select with a default, then a send: when the first
// gave a token back, the second gives back one more than was taken.
func (s *tsem) releaseTry() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
	default:
	}
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// G3 (was missed). A send in a func literal called in the function, then a send.
func (s *tsem) releaseLit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	func() { s.ch <- struct{}{} }()
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// G3b (was missed). A give-back in a deferred func literal, and one in the
// function: two for one take, the deferred one run with the lock held. A
// send that a func literal of the function may precede is no give-back:
// the direct one is reported.
func (s *tsem) releaseDeferLit() {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() { s.ch <- struct{}{} }()
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// G4 (was missed). Two sends into the same field of the same value, reached through a
// field twice.
type holder struct {
	mu sync.Mutex
	s  *tsem
}

func (h *holder) releaseTwice() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.s.ch <- struct{}{}
	h.s.ch <- struct{}{} // want `channel send while h.mu may be held`
}

// G5 (was missed). A send into s.ch then into t.ch, where t may be s.
func (s *tsem) releaseBoth(t *tsem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{}
	t.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// G6. A give-back in a loop built with goto: in a loop.
func (s *tsem) releaseGoto(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := 0
again:
	if i < n {
		s.ch <- struct{}{} // want `channel send while s.mu may be held`
		i++
		goto again
	}
}

// G7 (was missed). Recursion through another function: giveA calls itself through
// giveB.
func (s *tsem) giveA(n int) {
	if n == 0 {
		return
	}
	s.ch <- struct{}{}
	s.giveB(n - 1)
}

func (s *tsem) giveB(n int) { s.giveA(n) }

func (s *tsem) refillMutual(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.giveA(n) // want `call to attacktok3.tsem.giveA.* while s.mu may be held`
}

// G8 (was missed). Recursion through a method value.
func (s *tsem) giveV(n int) {
	if n == 0 {
		return
	}
	s.ch <- struct{}{}
	f := s.giveV
	f(n - 1)
}

func (s *tsem) refillValue(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.giveV(n) // want `call to attacktok3.tsem.giveV.* while s.mu may be held`
}

// G9. Recursion of a func literal through the variable that holds it. Not
// reported, but not for the token rule: a call through the variable is a
// call through a function value whose target is not known (the same call
// with a send into a channel that is no token field is not reported
// either), which the README lists as not counted.
func (s *tsem) refillRecLit(n int) {
	var rec func(int)
	rec = func(n int) {
		if n == 0 {
			return
		}
		s.ch <- struct{}{}
		rec(n - 1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec(n)
}

// ---------------------------------------------------------------------
// Stores. Promise: "It counts only if every value stored into the field in
// the package is a new buffered channel that such a loop fills ... and the
// field's address is taken for nothing else".
// ---------------------------------------------------------------------

// S1 (was missed). A value of another struct type with the same fields, holding a
// channel handed in, converted to a pointer to the token field's struct:
// its release waits on a channel that may be no semaphore.
type csem struct {
	mu sync.Mutex
	ch chan struct{}
}

type craw struct {
	mu sync.Mutex
	ch chan struct{}
}

func newCsem(n int) *csem {
	s := &csem{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func wrapCsem(q chan struct{}) *csem { return (*csem)(&craw{ch: q}) }

func (s *csem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- struct{}{} // want `channel send while s.mu may be held`
}

// S2 (was missed). A whole struct holding the token field, stored into a field of
// another struct: the value was converted from a struct that holds a
// channel handed in.
type tok struct {
	ch chan struct{}
}

type rawTok struct {
	ch chan struct{}
}

type pair struct {
	mu sync.Mutex
	a  tok
}

func (t *tok) fill(n int) {
	t.ch = make(chan struct{}, n)
	for i := 0; i < n; i++ {
		t.ch <- struct{}{}
	}
}

func newPair(n int) *pair {
	p := &pair{}
	p.a.fill(n)
	return p
}

func (p *pair) setA(v tok) { p.a = v }

func (p *pair) attach(q chan struct{}) { p.setA(tok(rawTok{ch: q})) }

func (p *pair) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.a.ch <- struct{}{} // want `channel send while p.mu may be held`
}

// S3. A generic semaphore: one instance made full of tokens, another a
// queue of an unbuffered channel. The field is no token field.
type gsem[T any] struct {
	mu sync.Mutex
	ch chan T
}

func newGsem(n int) *gsem[struct{}] {
	s := &gsem[struct{}]{ch: make(chan struct{}, n)}
	for range n {
		s.ch <- struct{}{}
	}
	return s
}

func newGqueue() *gsem[int] { return &gsem[int]{ch: make(chan int)} }

func (s *gsem[T]) put(v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- v // want `channel send while s.mu may be held`
}

func putZero(s *gsem[int]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ch <- 0 // want `channel send while s.mu may be held`
}
