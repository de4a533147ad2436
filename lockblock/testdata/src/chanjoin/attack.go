package chanjoin

import (
	"chanjoin/store"
	"sort"
	"strconv"
	"sync"
)

// The forks below can wait for good, or their goroutines end without a
// send: each receive is reported.

type T struct {
	mu    sync.Mutex
	xs    []int
	other chan int
	once  sync.Once
	n     int
}

// A func literal handed to another package's function may take the lock
// the receiver holds.
func (s *T) sorted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan int)
	go func() {
		sort.Slice(s.xs, func(i, j int) bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.xs[i] < s.xs[j]
		})
		ch <- 1
	}()
	return <-ch // want `channel receive while s.mu may be held`
}

// A function of another package may take it too.
func crossLock(d *store.DB) int {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	ch := make(chan int)
	go func() { ch <- d.Count() }()
	return <-ch // want `channel receive while d.Mu may be held`
}

// The variable is set on one path only: on the other, the receive is from
// a nil channel.
var jmu sync.Mutex

func nilPath(cond bool) int {
	jmu.Lock()
	defer jmu.Unlock()
	var ch chan int
	if cond {
		ch = make(chan int)
		go func() { ch <- 1 }()
	}
	return <-ch // want `channel receive while jmu may be held`
}

// The goroutine's once.Do waits for the Once that the receive runs in.
func jnoop() {}

func (s *T) init() {
	s.once.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		ch := make(chan int)
		go func() {
			s.once.Do(jnoop)
			ch <- 1
		}()
		s.n = <-ch // want `channel receive while s.mu may be held`
	})
}

// A deferred recover ends the goroutine without a send when the callee
// panics.
func mustAtoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

func parse(s string) int {
	jmu.Lock()
	defer jmu.Unlock()
	ch := make(chan int)
	go func() {
		defer func() { recover() }()
		ch <- mustAtoi(s)
	}()
	return <-ch // want `channel receive while jmu may be held`
}

// The goroutine waits in a function declared after the join: the join
// blocks, whatever the order the summaries are made in.
func join() int {
	ch := make(chan int)
	go func() { ch <- laterWait() }()
	return <-ch
}

func callsJoin() int {
	jmu.Lock()
	defer jmu.Unlock()
	return join() // want `call to chanjoin.join, which may block \(channel receive at attack.go:115\) while jmu may be held`
}

var gch = make(chan int)

func laterWait() int { return <-gch }
