// Package closure: func literals called under a lock, locking inside
// them, and started as goroutines.
package closure

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func (t *T) callsLiteral() {
	t.mu.Lock()
	defer t.mu.Unlock()
	send := func(v int) { t.ch <- v }
	send(1) // want `^call to the func literal at closure\.go:15, which may block \(channel send at closure\.go:15\) while t\.mu may be held \(locked at closure\.go:13\)`
	func() {
		<-t.ch
	}() // want `^call to the func literal at closure\.go:17, which may block \(channel receive at closure\.go:18\)`
}

// The literal itself holds the lock it captured.
func (t *T) lockInside() func() {
	return func() {
		t.mu.Lock()
		t.ch <- 1 // want `^channel send while t\.mu may be held \(locked at closure\.go:25\)`
		t.mu.Unlock()
	}
}

// A captured local mutex.
func capturedLocal(ch chan int) {
	var mu sync.Mutex
	f := func() {
		mu.Lock()
		defer mu.Unlock()
		<-ch // want `^channel receive while mu may be held \(locked at closure\.go:35\)`
	}
	f()
}

// Not reported: the literal runs in a new goroutine, or cannot block, or
// is called after the unlock.
func (t *T) notReported() {
	t.mu.Lock()
	go func() { t.ch <- 1 }()
	inc := func(n int) int { return n + 1 }
	_ = inc(1)
	t.mu.Unlock()
	send := func() { t.ch <- 2 }
	send()
}

// A func literal that unlocks the captured lock releases it.
func (t *T) unlockLiteral() {
	t.mu.Lock()
	unlock := func() { t.mu.Unlock() }
	unlock()
	t.ch <- 1
}
