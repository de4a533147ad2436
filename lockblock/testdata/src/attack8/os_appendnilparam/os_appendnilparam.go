package os_appendnilparam

import "sync"

type hub struct {
	mu      sync.Mutex
	waiters map[string][]chan int
}

func newHub() *hub { return &hub{waiters: map[string][]chan int{}} }

// Stores the caller's channel, whatever its room.
func (h *hub) watch(k string, ch chan int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.waiters[k] = append([]chan int(nil), ch)
}

func (h *hub) fire(k string, v int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ch := range h.waiters[k] {
		ch <- v // want `channel send`
		close(ch)
	}
	delete(h.waiters, k)
}

func use() {
	h := newHub()
	ch := make(chan int)
	h.watch("x", ch)
	go h.fire("x", 1)
	<-ch
}
