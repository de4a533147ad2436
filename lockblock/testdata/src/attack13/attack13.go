// Package attack13 holds the misses an attack on the rule for goroutines
// told to stop found, each of which hangs a close with its lock held; they
// stay reported. Loop is the shape the rule first missed for a deferred
// Done, which now counts.
package attack13

import (
	"runtime"
	"sync"
)

// quitter's goroutine may end by runtime.Goexit before it marks itself
// done.
type quitter struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
}

func NewQuitter(quit bool) *quitter {
	q := &quitter{stop: make(chan struct{})}
	q.wg.Add(1)
	go q.run(quit)
	return q
}

func (q *quitter) run(quit bool) {
	if quit {
		runtime.Goexit()
	}
	<-q.stop
	q.wg.Done()
}

func (q *quitter) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	q.mu.Lock()
	defer q.mu.Unlock()
	close(q.stop)
	q.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while q\.mu may be held`
}

// early starts its goroutine before it sets stop, which the goroutine
// reads as nil.
type early struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	out  chan int
}

func NewEarly() *early {
	e := &early{out: make(chan int)}
	e.wg.Add(1)
	go e.run()
	e.stop = make(chan struct{})
	return e
}

func (e *early) run() {
	select {
	case e.out <- 1:
	case <-e.stop:
	}
	e.wg.Done()
}

func (e *early) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.stop)
	e.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while e\.mu may be held`
}

// idle is made by one constructor without a done channel: the receive
// from it waits on nil for ever.
type idle struct {
	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
}

func NewWorking() *idle {
	i := &idle{stop: make(chan struct{}), done: make(chan struct{})}
	go i.run()
	return i
}

func NewIdle() *idle { return &idle{stop: make(chan struct{})} }

func (i *idle) run() {
	<-i.stop
	close(i.done)
}

func (i *idle) Close() { // want Close:`mayBlock\(channel receive at attack13.go:\d+\)`
	i.mu.Lock()
	defer i.mu.Unlock()
	close(i.stop)
	<-i.done // want `channel receive while i\.mu may be held`
}

// of is generic, and a copy of one of its values (whose count is never
// taken back) is not told apart from the generic type.
type of[T any] struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	out  chan T
}

func NewOf[T any]() *of[T] {
	o := &of[T]{stop: make(chan struct{}), out: make(chan T)}
	o.wg.Add(1)
	go o.deliver()
	return o
}

func (o *of[T]) deliver() {
	var v T
	select {
	case o.out <- v:
	case <-o.stop:
	}
	o.wg.Done()
}

func (o *of[T]) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.stop)
	o.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while o\.mu may be held`
}

func Copied() *of[int] {
	a := NewOf[int]()
	b := *a
	return &b
}

// relay's goroutine counts and starts its successor before it ends: the
// count never falls to zero.
type relay struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
}

func NewRelay() *relay {
	r := &relay{stop: make(chan struct{})}
	r.wg.Add(1)
	go r.run()
	return r
}

func (r *relay) run() {
	r.wg.Add(1)
	go r.run()
	<-r.stop
	r.wg.Done()
}

func (r *relay) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.stop)
	r.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while r\.mu may be held`
}

// indexed may panic between Add and the go statement, on an index out of
// range; a caller that recovers leaves the count taken.
type indexed struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	vals []int
}

func NewIndexed() *indexed { return &indexed{stop: make(chan struct{}), vals: []int{1}} }

func (x *indexed) Start(i int) {
	x.wg.Add(1)
	go x.run(x.vals[i])
}

func (x *indexed) run(v int) {
	<-x.stop
	x.wg.Done()
}

func (x *indexed) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	x.mu.Lock()
	defer x.mu.Unlock()
	close(x.stop)
	x.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while x\.mu may be held`
}

// counter's loop takes the stop case and goes round again: once stop is
// closed it spins for ever.
type counter struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	out  chan int
	n    int
}

func NewCounter() *counter {
	c := &counter{stop: make(chan struct{}), out: make(chan int)}
	c.wg.Add(1)
	go c.run()
	return c
}

func (c *counter) run() {
	for c.n < 3 {
		select {
		case c.out <- 1:
			c.n++
		case <-c.stop:
		}
	}
	c.wg.Done()
}

func (c *counter) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.stop)
	c.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while c\.mu may be held`
}

// rescued recovers a panic in its goroutine, past a Done that is not
// deferred.
type rescued struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	vals []int
}

func NewRescued(i int) *rescued {
	r := &rescued{stop: make(chan struct{}), vals: []int{1}}
	r.wg.Add(1)
	go r.run(i)
	return r
}

func (r *rescued) run(i int) {
	defer func() { recover() }()
	_ = r.vals[i]
	<-r.stop
	r.wg.Done()
}

func (r *rescued) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.stop)
	r.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while r\.mu may be held`
}

// loop's goroutine defers Done, loops on a select that sends or returns
// when told to stop: not reported.
type loop struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	out  chan int
}

func NewLoop() *loop {
	l := &loop{stop: make(chan struct{}), out: make(chan int)}
	l.wg.Add(1)
	go l.run()
	return l
}

func (l *loop) run() {
	defer l.wg.Done()
	for {
		select {
		case l.out <- 1:
		case <-l.stop:
			return
		}
	}
}

func (l *loop) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.stop)
	l.wg.Wait()
}
