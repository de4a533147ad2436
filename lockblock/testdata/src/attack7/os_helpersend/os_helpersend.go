package os_helpersend

import "sync"

// A channel taken from the field is handed to a helper that sends into
// it without closing it: the buffer is then full, and fire's send waits.
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

func deliver(ch chan int, v int) { ch <- v }

func (w *waiters) poke(v int) {
	w.mu.Lock()
	chs := w.chs
	w.mu.Unlock()
	for _, ch := range chs {
		deliver(ch, v)
	}
}

func (w *waiters) fire(v int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.chs {
		// after poke the buffer is full: waits for the reader under w.mu
		ch <- v // want `channel send`
		close(ch)
	}
	w.chs = nil
}
