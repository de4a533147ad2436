package counted

import "sync"

// Each function below breaks one condition; its send stays reported.

type holder struct {
	mu sync.Mutex
	ch chan int
}

// two sends into room for one, with a reader that may not be reading.
func (h *holder) twice() {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	go func() { <-ch }()
	ch <- 1 // want `channel send while h.mu may be held`
	ch <- 2 // want `channel send while h.mu may be held`
}

// a send in a loop.
func (h *holder) looped(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	go func() { <-ch }()
	for i := 0; i < n; i++ {
		ch <- i // want `channel send while h.mu may be held`
	}
}

// a func literal that sends, called twice.
func (h *holder) calledTwice() {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	go func() { <-ch }()
	send := func() {
		ch <- 1
	}
	send() // want `call to the func literal at broken.go:\d+, which may block \(channel send at broken.go:\d+\) while h.mu may be held`
	send() // want `call to the func literal at broken.go:\d+, which may block \(channel send at broken.go:\d+\) while h.mu may be held`
}

// a func literal that sends, handed to a function that may call it often.
func (h *holder) handed(run func(func())) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	go func() { <-ch }()
	run(func() { ch <- 1 })
	ch <- 2 // want `channel send while h.mu may be held`
}

// a func literal that sends, started in a loop.
func (h *holder) started(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	for range n {
		go func() { ch <- 1 }()
	}
	ch <- 2 // want `channel send while h.mu may be held`
}

// the channel handed to a function, which may send into it.
func (h *holder) passed() {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	fill(ch) // want `call to counted.fill, which may block \(channel send at broken.go:\d+\) while h.mu may be held`
	ch <- 2  // want `channel send while h.mu may be held`
}

func fill(ch chan int) { ch <- 1 }

// the channel stored in a field, through which anyone may send.
func (h *holder) stored() {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	h.ch = ch
	ch <- 2 // want `channel send while h.mu may be held`
}

// the variable set again, to a channel with no room.
func (h *holder) setAgain() {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	go func() { <-ch }()
	ch = make(chan int)
	ch <- 2 // want `channel send while h.mu may be held`
}

// a send case of a select, beside the plain send.
func (h *holder) selected(quit chan int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	go func() {
		select {
		case ch <- 1:
		case <-quit:
		}
	}()
	ch <- 2 // want `channel send while h.mu may be held`
}

// a send from a func literal inside the goroutine's literal.
func (h *holder) nested() {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	go func() {
		f := func() { ch <- 1 }
		f()
		f()
	}()
	ch <- 2 // want `channel send while h.mu may be held`
}

// a capacity that is not a constant, which may be 0.
func (h *holder) sized(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, n)
	go func() { <-ch }()
	ch <- 1 // want `channel send while h.mu may be held`
}

// a channel converted to send-only and handed on.
func (h *holder) converted(out func(chan<- int)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan int, 1)
	out(ch)
	ch <- 1 // want `channel send while h.mu may be held`
}
