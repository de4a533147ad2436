package os_phisend

import "sync"

// A send, not followed by close, into a channel taken from the field
// through a variable set on two branches.
type waiters struct {
	mu  sync.Mutex
	chs []chan int
}

func (w *waiters) add() <-chan int {
	ch := make(chan int, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chs = append(w.chs, ch)
	return ch
}

func (w *waiters) poke(i int) {
	w.mu.Lock()
	var ch chan int
	if i > 0 {
		ch = w.chs[i]
	} else {
		ch = w.chs[0]
	}
	w.mu.Unlock()
	ch <- 1
}

func (w *waiters) fire(v int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.chs {
		// after poke the buffer is full: waits under w.mu
		ch <- v // want `channel send`
		close(ch)
	}
	w.chs = nil
}
