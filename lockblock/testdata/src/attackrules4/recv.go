// Package attackrules4 holds a fourth round of cases for the rules that
// drop reports: sends into channels with room (a channel received from
// earlier, token fields), branches on results always nil, and the
// channel of a Prometheus Collector. Each case states the promise it
// checks.
package attackrules4

import "sync"

// ---------------------------------------------------------------------
// A send into a channel that the function received from earlier on every
// path. Promise: a send is dropped only when it has room; an unbuffered
// channel, a queue that other producers fill, and a second send for one
// receive may wait.
// ---------------------------------------------------------------------

// R1 (was missed). A requeue: the worker takes a job, and on failure puts it back
// under the lock. Other producers may have filled the queue meanwhile (or
// it is unbuffered), so the send waits for a consumer.
type queue struct {
	mu     sync.Mutex
	jobs   chan int
	failed int
}

func (q *queue) produce(v int) { q.jobs <- v }

func (q *queue) work(ok func(int) bool) {
	job := <-q.jobs
	if !ok(job) {
		q.mu.Lock()
		q.failed++
		q.jobs <- job // want `channel send while q.mu may be held`
		q.mu.Unlock()
	}
}

// R2 (was missed). A baton passed on an unbuffered channel: a send into an unbuffered
// channel always waits for a receiver, whatever was received before.
type baton struct {
	mu   sync.Mutex
	turn chan struct{}
	n    int
}

func newBaton() *baton { return &baton{turn: make(chan struct{})} }

func (b *baton) step() {
	<-b.turn
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	b.turn <- struct{}{} // want `channel send while b.mu may be held`
}

// R3 (was missed). One receive, two sends: the second gives back more than was taken.
type tokens struct {
	mu sync.Mutex
	ch chan struct{}
}

func newTokens(n int) *tokens { return &tokens{ch: make(chan struct{}, n)} }

func (t *tokens) useTwice() {
	<-t.ch
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ch <- struct{}{}
	t.ch <- struct{}{} // want `channel send while t.mu may be held`
}

// R4 (was missed). One receive before a loop, a send on each turn of it.
func (t *tokens) useLoop(n int) {
	<-t.ch
	t.mu.Lock()
	defer t.mu.Unlock()
	for range n {
		t.ch <- struct{}{} // want `channel send while t.mu may be held`
	}
}

// R5 (was missed). The received channel and the sent one are reached through the same
// field of a struct that is replaced in between: two channels.
type holder struct {
	mu  sync.Mutex
	cur *tokens
}

func (h *holder) swap(next *tokens) {
	<-h.cur.ch
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur = next
	h.cur.ch <- struct{}{} // want `channel send while h.mu may be held`
}

// R6 (was missed). The channel comes from a call that returns a different channel each
// time (round robin): the receive and the send are on two channels.
type ring struct {
	mu  sync.Mutex
	chs []chan struct{}
	i   int
}

func (r *ring) next() chan struct{} {
	r.i++
	return r.chs[r.i%len(r.chs)]
}

func (r *ring) pass() {
	<-r.next()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next() <- struct{}{} // want `channel send while r.mu may be held`
}

// R7. A receive on one branch only: it does not come before the send on
// every path, so the send is reported.
func (t *tokens) maybeTook(c bool) {
	if c {
		<-t.ch
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ch <- struct{}{} // want `channel send while t.mu may be held`
}

// R8 (was missed). A receive from element 0 of a slice field, then a send into
// element 0 after the slice was resliced: two channels.
type lanes struct {
	mu  sync.Mutex
	chs []chan int
}

func (l *lanes) move(i int) {
	v := <-l.chs[0]
	l.mu.Lock()
	defer l.mu.Unlock()
	l.chs = l.chs[1:]
	l.chs[0] <- v // want `channel send while l.mu may be held`
}
