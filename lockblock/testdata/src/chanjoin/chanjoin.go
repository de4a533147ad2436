// Package chanjoin holds the cases of a channel that a function makes and
// hands only to goroutines it starts, which send into it on every path:
// a fork and join, whose receives wait only for that work.
package chanjoin

import (
	"os"
	"sync"
	"time"
)

type S struct {
	mu    sync.Mutex
	pools map[int]int
	other chan int
	l     Logger
	keep  chan int
}

type Logger interface{ Log(string) }

func build(i int) int { return i * i }

// gather fans work out and gathers it under the lock: not reported.
func (s *S) gather(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	results := make(chan int)
	for i := range n {
		go func(i int) {
			results <- build(i)
		}(i)
	}
	for range n {
		v := <-results
		s.pools[v] = v
	}
}

func worker(out chan<- int, i int) {
	if i > 0 {
		out <- build(i)
		return
	}
	out <- 0
}

// named starts a named function: not reported.
func (s *S) named() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int, 1)
	go worker(ch, 3)
	return <-ch
}

// waits has a goroutine that waits before it sends: reported, for that
// reason.
func (s *S) waits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	go func() {
		v := <-s.other
		ch <- v
	}()
	return <-ch // want `channel receive, which waits for the func literal at chanjoin.go:63, which may block \(channel receive at chanjoin.go:64\) while s.mu may be held`
}

// sleeps has a goroutine that sleeps before it sends: reported.
func (s *S) sleeps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	go func() {
		time.Sleep(time.Second)
		ch <- 1
	}()
	return <-ch // want `channel receive, which waits for the func literal at chanjoin.go:75, which may block \(call to time.Sleep at chanjoin.go:76\) while s.mu may be held`
}

// reads has a goroutine that reads a file before it sends: reported as
// I/O.
func (s *S) reads() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan []byte)
	go func() {
		b, _ := os.ReadFile("x")
		ch <- b
	}()
	return <-ch // want `channel receive, which waits for the func literal at chanjoin.go:88, which may wait for I/O \(file read: call to os.ReadFile at chanjoin.go:89\) while s.mu may be held`
}

// mayNotSend has a goroutine that returns without sending on one path: the
// receive may wait for good.
func (s *S) mayNotSend(i int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	go func() {
		if i < 0 {
			return
		}
		ch <- i
	}()
	return <-ch // want `channel receive while s.mu may be held`
}

// kept hands the channel to something else too: reported.
func (s *S) kept() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	s.keep = ch
	go func() { ch <- 1 }()
	return <-ch // want `channel receive while s.mu may be held`
}

// locks has a goroutine that takes the lock the receiver holds: reported.
func (s *S) locks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	go func() {
		s.mu.Lock()
		n := len(s.pools)
		s.mu.Unlock()
		ch <- n
	}()
	return <-ch // want `channel receive while s.mu may be held`
}

// logs has a goroutine that calls an interface method, which may block
// unseen: reported.
func (s *S) logs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	go func() {
		s.l.Log("x")
		ch <- 1
	}()
	return <-ch // want `channel receive while s.mu may be held`
}

// passesOn has a goroutine that hands the channel on: reported.
func (s *S) passesOn() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	go func() { worker(ch, 1) }()
	return <-ch // want `channel receive while s.mu may be held`
}

// ranges waits for the channel to be closed, which no goroutine does:
// reported.
func (s *S) ranges() {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	go func() { ch <- 1 }()
	for v := range ch { // want `range over a channel while s.mu may be held`
		s.pools[v] = v
	}
}

// receivesToo has a goroutine that also receives from the channel:
// reported.
func (s *S) receivesToo() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int, 1)
	go func() {
		ch <- 1
		<-ch
	}()
	return <-ch // want `channel receive while s.mu may be held`
}

// sendsHere sends into the channel itself as well: the receives are
// reported. The send is not: the channel has room for both of its sends.
func (s *S) sendsHere() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int, 2)
	go func() { ch <- 1 }()
	ch <- 2
	<-ch        // want `channel receive while s.mu may be held`
	return <-ch // want `channel receive while s.mu may be held`
}

// nested hands the channel to a goroutine that a closure starts:
// reported.
func (s *S) nested() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	start := func() { go func() { ch <- 1 }() }
	start()
	return <-ch // want `channel receive while s.mu may be held`
}

// reassigned captures a variable that is set again: reported.
func (s *S) reassigned() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	go func() { ch <- 1 }()
	v := <-ch // want `channel receive while s.mu may be held`
	ch = s.other
	return v + <-ch // want `channel receive while s.mu may be held`
}
