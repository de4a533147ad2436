// Package attack13 holds the misses an attack on the rule for goroutines
// told to stop found, each of which hangs a close with its lock held; they
// stay reported. Loop is the shape the rule first missed for a deferred
// Done, which now counts.
package attack13

import (
	"runtime"
	"sync"
)

// Quitter's goroutine may end by runtime.Goexit before it marks itself
// done.
type Quitter struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
}

func NewQuitter(quit bool) *Quitter {
	q := &Quitter{stop: make(chan struct{})}
	q.wg.Add(1)
	go q.run(quit)
	return q
}

func (q *Quitter) run(quit bool) {
	if quit {
		runtime.Goexit()
	}
	<-q.stop
	q.wg.Done()
}

func (q *Quitter) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	q.mu.Lock()
	defer q.mu.Unlock()
	close(q.stop)
	q.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while q\.mu may be held`
}

// Early starts its goroutine before it sets stop, which the goroutine
// reads as nil.
type Early struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	out  chan int
}

func NewEarly() *Early {
	e := &Early{out: make(chan int)}
	e.wg.Add(1)
	go e.run()
	e.stop = make(chan struct{})
	return e
}

func (e *Early) run() {
	select {
	case e.out <- 1:
	case <-e.stop:
	}
	e.wg.Done()
}

func (e *Early) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.stop)
	e.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while e\.mu may be held`
}

// Idle is made by one constructor without a done channel: the receive
// from it waits on nil for ever.
type Idle struct {
	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
}

func NewWorking() *Idle {
	i := &Idle{stop: make(chan struct{}), done: make(chan struct{})}
	go i.run()
	return i
}

func NewIdle() *Idle { return &Idle{stop: make(chan struct{})} }

func (i *Idle) run() {
	<-i.stop
	close(i.done)
}

func (i *Idle) Close() { // want Close:`mayBlock\(channel receive at attack13.go:\d+\)`
	i.mu.Lock()
	defer i.mu.Unlock()
	close(i.stop)
	<-i.done // want `channel receive while i\.mu may be held`
}

// Of is generic, and a copy of one of its values (whose count is never
// taken back) is not told apart from the generic type.
type Of[T any] struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	out  chan T
}

func NewOf[T any]() *Of[T] {
	o := &Of[T]{stop: make(chan struct{}), out: make(chan T)}
	o.wg.Add(1)
	go o.deliver()
	return o
}

func (o *Of[T]) deliver() {
	var v T
	select {
	case o.out <- v:
	case <-o.stop:
	}
	o.wg.Done()
}

func (o *Of[T]) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.stop)
	o.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while o\.mu may be held`
}

func Copied() *Of[int] {
	a := NewOf[int]()
	b := *a
	return &b
}

// Relay's goroutine counts and starts its successor before it ends: the
// count never falls to zero.
type Relay struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
}

func NewRelay() *Relay {
	r := &Relay{stop: make(chan struct{})}
	r.wg.Add(1)
	go r.run()
	return r
}

func (r *Relay) run() {
	r.wg.Add(1)
	go r.run()
	<-r.stop
	r.wg.Done()
}

func (r *Relay) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.stop)
	r.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while r\.mu may be held`
}

// Indexed may panic between Add and the go statement, on an index out of
// range; a caller that recovers leaves the count taken.
type Indexed struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	vals []int
}

func NewIndexed() *Indexed { return &Indexed{stop: make(chan struct{}), vals: []int{1}} }

func (x *Indexed) Start(i int) {
	x.wg.Add(1)
	go x.run(x.vals[i])
}

func (x *Indexed) run(v int) {
	<-x.stop
	x.wg.Done()
}

func (x *Indexed) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	x.mu.Lock()
	defer x.mu.Unlock()
	close(x.stop)
	x.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while x\.mu may be held`
}

// Counter's loop takes the stop case and goes round again: once stop is
// closed it spins for ever.
type Counter struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	out  chan int
	n    int
}

func NewCounter() *Counter {
	c := &Counter{stop: make(chan struct{}), out: make(chan int)}
	c.wg.Add(1)
	go c.run()
	return c
}

func (c *Counter) run() {
	for c.n < 3 {
		select {
		case c.out <- 1:
			c.n++
		case <-c.stop:
		}
	}
	c.wg.Done()
}

func (c *Counter) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.stop)
	c.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while c\.mu may be held`
}

// Rescued recovers a panic in its goroutine, past a Done that is not
// deferred.
type Rescued struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	vals []int
}

func NewRescued(i int) *Rescued {
	r := &Rescued{stop: make(chan struct{}), vals: []int{1}}
	r.wg.Add(1)
	go r.run(i)
	return r
}

func (r *Rescued) run(i int) {
	defer func() { recover() }()
	_ = r.vals[i]
	<-r.stop
	r.wg.Done()
}

func (r *Rescued) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack13.go:\d+\)`
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.stop)
	r.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while r\.mu may be held`
}

// Loop's goroutine defers Done, loops on a select that sends or returns
// when told to stop: not reported.
type Loop struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	out  chan int
}

func NewLoop() *Loop {
	l := &Loop{stop: make(chan struct{}), out: make(chan int)}
	l.wg.Add(1)
	go l.run()
	return l
}

func (l *Loop) run() {
	defer l.wg.Done()
	for {
		select {
		case l.out <- 1:
		case <-l.stop:
			return
		}
	}
}

func (l *Loop) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.stop)
	l.wg.Wait()
}
