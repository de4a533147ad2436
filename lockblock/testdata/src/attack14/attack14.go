// Package attack14 holds the misses a second attack on the rule for
// goroutines told to stop found, each of which hangs a close with its
// lock held; they stay reported.
package attack14

import (
	"runtime"
	"strings"
	"sync"
)

// chain's goroutine calls itself on the next struct, whose stop nothing
// closes.
type chain struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	next *chain
}

func NewChain() *chain { return &chain{stop: make(chan struct{})} }

func (c *chain) Link(n *chain) { c.next = n }

func (c *chain) Start() {
	c.wg.Add(1)
	go c.run()
}

func (c *chain) run() {
	defer c.wg.Done()
	<-c.stop
	if c.next != nil {
		c.next.run()
	}
}

func (c *chain) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack14.go:\d+\)`
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.stop)
	c.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while c\.mu may be held`
}

// saved recovers a panic that comes before its Done is deferred.
type saved struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	vals []int
}

func NewSaved() *saved { return &saved{stop: make(chan struct{}), vals: []int{1}} }

func (s *saved) Start(i int) {
	s.wg.Add(1)
	go s.run(i)
}

func (s *saved) run(i int) {
	defer func() { recover() }()
	_ = s.vals[i]
	defer s.wg.Done()
	<-s.stop
}

func (s *saved) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack14.go:\d+\)`
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.stop)
	s.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while s\.mu may be held`
}

// checked may end its goroutine in a function it calls before it defers
// Done.
type checked struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
	quit bool
}

func NewChecked(quit bool) *checked { return &checked{stop: make(chan struct{}), quit: quit} }

func (c *checked) Start() {
	c.wg.Add(1)
	go c.run()
}

func (c *checked) check() {
	if c.quit {
		runtime.Goexit()
	}
}

func (c *checked) run() {
	c.check()
	defer c.wg.Done()
	<-c.stop
}

func (c *checked) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack14.go:\d+\)`
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.stop)
	c.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while c\.mu may be held`
}

// handedOn's goroutine starts its successor through a func it hands to
// strings.Map.
type handedOn struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
}

var current *handedOn

func NewHandedOn() *handedOn {
	current = &handedOn{stop: make(chan struct{})}
	return current
}

func (h *handedOn) Start() {
	h.wg.Add(1)
	go h.run()
}

func (h *handedOn) run() {
	defer h.wg.Done()
	<-h.stop
	strings.Map(again, "x")
}

func again(r rune) rune {
	h := current
	h.wg.Add(1)
	go h.run()
	return r
}

func (h *handedOn) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack14.go:\d+\)`
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.stop)
	h.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while h\.mu may be held`
}

// exiting's goroutine may end by runtime.Goexit in a func it hands to
// strings.Map, before its Done.
type exiting struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
}

func NewExiting() *exiting { return &exiting{stop: make(chan struct{})} }

func (e *exiting) Start() {
	e.wg.Add(1)
	go e.run()
}

func (e *exiting) run() {
	<-e.stop
	strings.Map(quit, "x")
	e.wg.Done()
}

func quit(r rune) rune {
	runtime.Goexit()
	return r
}

func (e *exiting) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack14.go:\d+\)`
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.stop)
	e.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while e\.mu may be held`
}

// shown hands its struct out before it starts the goroutine that closes
// done, and may panic in between; a caller that recovers holds a struct
// whose done nothing closes.
type shown struct {
	mu   sync.Mutex
	stop chan struct{}
	done chan struct{}
	n    int
}

func NewShown(out **shown, vals []int, i int) {
	s := &shown{stop: make(chan struct{}), done: make(chan struct{})}
	*out = s
	s.n = vals[i]
	go s.run()
}

func (s *shown) run() {
	defer close(s.done)
	<-s.stop
}

func (s *shown) Close() { // want Close:`mayBlock\(channel receive at attack14.go:\d+\)`
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.stop)
	<-s.done // want `channel receive while s\.mu may be held`
}

// Exported has the accepted shape, but another package may copy it
// whole (c := *attack14.NewExported(), which vet's copylocks does not
// report), and the copy's count is never taken back.
type Exported struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	stop chan struct{}
}

func NewExported() *Exported {
	e := &Exported{stop: make(chan struct{})}
	e.wg.Add(1)
	go e.run()
	return e
}

func (e *Exported) run() {
	defer e.wg.Done()
	<-e.stop
}

func (e *Exported) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at attack14.go:\d+\)`
	e.mu.Lock()
	defer e.mu.Unlock()
	close(e.stop)
	e.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while e\.mu may be held`
}
