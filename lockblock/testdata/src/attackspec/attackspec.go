// Package attackspec holds the misses that an attack on constant
// arguments, error-result lock helpers and forks and joins found: each
// was reported before those rules, wrongly excused by a first version of
// them, and must stay reported.
package attackspec

import (
	"errors"
	"sync"
)

var (
	mu, mu2 sync.Mutex
	ch      = make(chan int)
)

// A goroutine of the join takes the lock that the waiter holds: the
// join waits for ever.
func joinTakesLock(x *int) {
	mu.Lock()
	defer mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mu2.Lock()
		*x++
		mu2.Unlock()
	}()
	wg.Wait() // want `call to sync.WaitGroup.Wait, which waits for the WaitGroup while mu may be held`
}

type store struct {
	mu sync.RWMutex
	n  int
}

func (s *store) get() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n
}

// The same through a method and WaitGroup.Go.
func (s *store) sum(parts int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var wg sync.WaitGroup
	res := make([]int, parts)
	for i := range parts {
		wg.Go(func() { res[i] = s.get() })
	}
	wg.Wait() // want `call to sync.WaitGroup.Wait, which waits for the WaitGroup while s.mu may be held`
	return res[0]
}

func spawn(wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ch
	}()
}

// The goroutine hands the WaitGroup on: it counts a goroutine that waits.
func handedOn() {
	mu.Lock()
	defer mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		spawn(&wg)
	}()
	wg.Wait() // want `call to sync.WaitGroup.Wait, which waits for the WaitGroup while mu may be held`
}

// The goroutine calls a func value that may block unseen.
func dynamic(f func()) {
	mu.Lock()
	defer mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
	wg.Wait() // want `call to sync.WaitGroup.Wait, which waits for the WaitGroup while mu may be held`
}

type conn struct {
	mu  sync.Mutex
	ch  chan int
	bad bool
}

func (l *conn) acquire() error {
	l.mu.Lock()
	if l.bad {
		l.mu.Unlock()
		return errors.New("bad")
	}
	return nil
}

// On the error path the lock is taken again: after the join it is held
// whatever err is.
func (l *conn) fallback() {
	err := l.acquire()
	if err != nil {
		l.mu.Lock()
	}
	if err != nil {
		l.ch <- 1 // want `channel send while l.mu may be held`
	}
	l.mu.Unlock()
}

// A and B call each other: a summary of B(0) made while A(0)'s was
// being made must not be kept without what A(0) does.
func A(m int) { // want A:`mayBlock\(channel receive at attackspec.go:126\)`
	if m == 0 {
		B(m)
	}
	if m == 0 {
		<-ch
	}
}

func B(m int) { // want B:`mayBlock\(attackspec.A → channel receive at attackspec.go:126\)`
	if m == 0 {
		A(m)
	}
}

func recursion() {
	mu2.Lock()
	A(0) // want `call to attackspec.A, which may block`
	mu2.Unlock()
	mu.Lock()
	B(0) // want `call to attackspec.B, which may block`
	mu.Unlock()
}

// A captured bool that the closure changes is not the constant passed.
func step(flush bool) {
	func() { flush = !flush }()
	if flush {
		<-ch
	}
}

func flip(p *bool) { *p = true }

// Nor is one whose address is passed on.
func step2(flush bool) {
	flip(&flush)
	if flush {
		<-ch
	}
}

func captured() {
	mu.Lock()
	defer mu.Unlock()
	step(false)  // want `call to attackspec.step, which may block`
	step2(false) // want `call to attackspec.step2, which may block`
}

// work is started with the WaitGroup and adds a goroutine of its own to
// it, which waits.
func work(wg *sync.WaitGroup) {
	defer wg.Done()
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-ch
	}()
}

func handedToWorker() {
	mu.Lock()
	defer mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(1)
	go work(&wg)
	wg.Wait() // want `call to sync.WaitGroup.Wait, which waits for the WaitGroup while mu may be held`
}
