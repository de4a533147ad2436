// Package attackfresh checks the exemption of sends into fresh channels:
// a channel that another goroutine can already reach is not fresh.
package attackfresh

import "sync"

var mu sync.Mutex

type worker struct{ ch chan int }

// fill starts a goroutine that fills the channel it is given.
func fill(c chan int) { go func() { c <- 0 }() }

func loadedAndPassed() {
	w := &worker{}
	w.ch = make(chan int, 1)
	fill(w.ch)
	mu.Lock()
	w.ch <- 1 // want `channel send while mu may be held`
	mu.Unlock()
}

func loadedAndCaptured() {
	w := &worker{ch: make(chan int, 1)}
	c := w.ch
	go func() { c <- 0 }()
	mu.Lock()
	w.ch <- 1 // want `channel send while mu may be held`
	mu.Unlock()
}

// The plain forms hold.
func passedChan() {
	c := make(chan int, 1)
	fill(c)
	mu.Lock()
	c <- 1 // want `channel send while mu may be held`
	mu.Unlock()
}

func freshChan() {
	c := make(chan int, 1)
	mu.Lock()
	c <- 1
	mu.Unlock()
	<-c
}

type server struct {
	mu      sync.Mutex
	cached  map[int]int
	waiters []chan int
}

// Each iteration makes a new channel with room for one reply and fills
// it before anyone else can reach it.
func (s *server) replies(reqs []int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range reqs {
		reply := make(chan int, 1)
		reply <- s.cached[r]
		s.waiters = append(s.waiters, reply)
	}
}

func (s *server) replyOnce(r int) chan int {
	s.mu.Lock()
	defer s.mu.Unlock()
	reply := make(chan int, 1)
	reply <- s.cached[r]
	s.waiters = append(s.waiters, reply)
	return reply
}
