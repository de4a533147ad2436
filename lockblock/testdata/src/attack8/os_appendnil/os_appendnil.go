package os_appendnil

import "sync"

type hub struct {
	mu      sync.Mutex
	waiters []chan int
}

// Puts an unbuffered channel into the field.
func (h *hub) wait() <-chan int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var s []chan int
	s = append(s, make(chan int))
	h.waiters = s
	return h.waiters[0]
}

func (h *hub) fire(v int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.waiters {
		// unbuffered: waits for the receiver with h.mu held
		ch <- v // want `channel send`
		close(ch)
	}
	h.waiters = nil
}
