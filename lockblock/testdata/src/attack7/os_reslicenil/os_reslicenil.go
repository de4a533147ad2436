package os_reslicenil

import "sync"

// An empty slice with capacity, then resliced to its capacity: the
// slice holds nil channels, and a send into a nil channel blocks for ever.
type waiters struct {
	mu  sync.Mutex
	chs []chan int
}

func newWaiters(n int) *waiters {
	return &waiters{chs: make([]chan int, 0, n)}
}

func (w *waiters) add() <-chan int {
	ch := make(chan int, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chs = append(w.chs, ch)
	return ch
}

func (w *waiters) grow() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chs = w.chs[:cap(w.chs)]
}

func (w *waiters) fire(v int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.chs {
		// nil channel after grow: blocks for ever under w.mu
		ch <- v // want `channel send`
		close(ch)
	}
	w.chs = nil
}
