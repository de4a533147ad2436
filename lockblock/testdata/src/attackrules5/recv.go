// Package attackrules5 holds a fifth round of cases for the rules that
// drop reports: a send of a constant into a channel that the function
// received from earlier (recv.go), token fields (tokens.go) and the
// channel of a Prometheus Collector (prom.go). Each case states the
// promise it checks.
package attackrules5

import "sync"

// ---------------------------------------------------------------------
// A send of a constant into a channel the function received from earlier.
// Promise: the send is dropped only when it has room: "unless the channel
// is a field that the package sets to an unbuffered channel, another send
// into it, or a store into a field or variable on its path, may come
// between, or its path goes through a call". A turn passed on an
// unbuffered channel made outside the package is a known limit; the
// channels below are made by the package itself.
// ---------------------------------------------------------------------

// R1 (was missed). Pipeline stages signalled through a slice of buffered channels:
// a stage takes its own signal and passes one to the next stage, whose
// lane may be full when that stage is behind. The receive and the send
// are on two elements of the slice.
type pipeline struct {
	mu    sync.Mutex
	lanes []chan struct{}
	done  int
}

func newPipeline(k int) *pipeline {
	p := &pipeline{}
	for range k {
		p.lanes = append(p.lanes, make(chan struct{}, 1))
	}
	return p
}

func (p *pipeline) stage(i int) {
	<-p.lanes[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.lanes[i+1] <- struct{}{} // want `channel send while p.mu may be held`
}

// R2 (was missed). Per-tenant semaphores in a map: a slot taken from one tenant's
// semaphore is handed to another's, which may be full.
type tenants struct {
	mu    sync.Mutex
	sems  map[string]chan struct{}
	moved int
}

func (t *tenants) lend(from, to string) {
	<-t.sems[from]
	t.mu.Lock()
	defer t.mu.Unlock()
	t.moved++
	t.sems[to] <- struct{}{} // want `channel send while t.mu may be held`
}

// R3 (was missed). A baton on an unbuffered channel that the package makes and hands
// to its workers as a parameter: the send waits for the next receiver.
type stage struct {
	mu sync.Mutex
	n  int
}

func (s *stage) step(turn chan struct{}) {
	<-turn
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	turn <- struct{}{} // want `channel send while s.mu may be held`
}

func runStages(a, b *stage) {
	turn := make(chan struct{})
	go a.step(turn)
	go b.step(turn)
	turn <- struct{}{}
	<-turn
}

// R4 (was missed). The same baton kept in a package variable the package sets to an
// unbuffered channel.
var (
	handoff = make(chan struct{})
	gmu     sync.Mutex
	gcount  int
)

func relay() {
	<-handoff
	gmu.Lock()
	defer gmu.Unlock()
	gcount++
	handoff <- struct{}{} // want `channel send while gmu may be held`
}

// R5 (was missed). The same baton kept in a field, set to an unbuffered channel that
// a constructor helper of the package makes.
type baton struct {
	mu   sync.Mutex
	turn chan struct{}
	n    int
}

func newTurn() chan struct{} { return make(chan struct{}) }

func newBaton() *baton { return &baton{turn: newTurn()} }

func (b *baton) step() {
	<-b.turn
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	b.turn <- struct{}{} // want `channel send while b.mu may be held`
}

// R5b (was missed). The same, the unbuffered channel handed to the constructor.
type baton2 struct {
	mu   sync.Mutex
	turn chan struct{}
	n    int
}

func newBaton2(turn chan struct{}) *baton2 { return &baton2{turn: turn} }

func makeBaton2() *baton2 { return newBaton2(make(chan struct{})) }

func (b *baton2) step() {
	<-b.turn
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	b.turn <- struct{}{} // want `channel send while b.mu may be held`
}

// R6 (was missed). A double release: a helper gives the token back on the error path,
// then the function gives it back again. The helper's send comes between
// the receive and the send: two for one take, the second finds the
// semaphore full.
type worker struct {
	mu   sync.Mutex
	sem  chan struct{}
	done int
}

func newWorker(n int) *worker { return &worker{sem: make(chan struct{}, n)} }

func (w *worker) release() { w.sem <- struct{}{} }

func (w *worker) run(job func() error) {
	<-w.sem
	if err := job(); err != nil {
		w.release()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done++
	w.sem <- struct{}{} // want `channel send while w.mu may be held`
}

// R7 (was missed). The field on the channel's path is changed by a helper between
// the receive and the send: the send goes into another generation's
// channel, which may be full.
type gen struct {
	tokens chan struct{}
}

type rotor struct {
	mu   sync.Mutex
	cur  *gen
	next *gen
}

func (r *rotor) rotate() { r.cur, r.next = r.next, r.cur }

func (r *rotor) use() {
	<-r.cur.tokens
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rotate()
	r.cur.tokens <- struct{}{} // want `channel send while r.mu may be held`
}

// R8 (was missed). A local variable that a closure captures, reassigned between the
// receive and the send: two channels.
type pair struct {
	mu   sync.Mutex
	a, b chan struct{}
}

func (p *pair) swap(log func(func() chan struct{})) {
	cur := p.a
	log(func() chan struct{} { return cur })
	<-cur
	p.mu.Lock()
	defer p.mu.Unlock()
	cur = p.b
	cur <- struct{}{} // want `channel send while p.mu may be held`
}

// R9. A give-back after a take, with nothing in between: not reported
// (the rule's own shape).
func (w *worker) once() {
	<-w.sem
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done++
	w.sem <- struct{}{}
}
