package os_fa_indexclose

import "sync"

type A struct {
	mu  sync.Mutex
	chs []chan int
}

func (w *A) add() <-chan int {
	ch := make(chan int, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.chs = append(w.chs, ch)
	return ch
}

// The send and the close name the channel by index.
func (w *A) fire(v int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.chs {
		w.chs[i] <- v
		close(w.chs[i])
	}
	w.chs = nil
}
