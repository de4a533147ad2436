// Package facta exports what may block; factb calls it under a lock.
package facta

import (
	"sync"
	"time"
)

func Blocks(ch chan int) { // want Blocks:`mayBlock\(channel send at facta\.go:10\)`
	ch <- 1
}

// Indirect blocks through Blocks.
func Indirect(ch chan int) { // want Indirect:`mayBlock\(facta\.Blocks → channel send at facta\.go:10\)`
	Blocks(ch)
}

func NonBlocking(ch chan int) {
	select {
	case ch <- 1:
	default:
	}
}

type Pool struct {
	mu sync.Mutex
	wg sync.WaitGroup
}

func (p *Pool) Drain() { // want Drain:`mayBlock\(call to sync\.WaitGroup\.Wait at facta\.go:31\)`
	p.wg.Wait()
}

func (p *Pool) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return 0
}

func Nap() { // want Nap:`mayBlock\(call to time\.Sleep at facta\.go:41\)`
	time.Sleep(time.Millisecond)
}

// Spawn blocks only in a new goroutine.
func Spawn(ch chan int) {
	go Blocks(ch)
}
