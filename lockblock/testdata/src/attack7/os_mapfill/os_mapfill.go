package os_mapfill

import "sync"

// The field is set to a map that was filled with an unbuffered channel
// before it was stored.
type replies struct {
	mu      sync.Mutex
	waiting map[int]chan string
}

func newReplies() *replies {
	m := make(map[int]chan string)
	m[0] = make(chan string)
	return &replies{waiting: m}
}

func (r *replies) wait(id int) <-chan string {
	ch := make(chan string, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiting[id] = ch
	return ch
}

func (r *replies) resolve(id int, v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.waiting[id]; ok {
		delete(r.waiting, id)
		// blocks for ever for id 0 while r.mu is held
		ch <- v // want `channel send`
		close(ch)
	}
}
