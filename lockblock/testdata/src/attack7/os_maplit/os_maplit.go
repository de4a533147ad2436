package os_maplit

import "sync"

// The field is set to a map literal that already holds an unbuffered
// channel: not "an empty map".
type replies struct {
	mu      sync.Mutex
	waiting map[int]chan string
}

func newReplies() *replies {
	return &replies{waiting: map[int]chan string{0: make(chan string)}}
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

func Use() { // want Use:`mayBlock\(os_maplit.replies.resolve`
	r := newReplies()
	r.resolve(0, "x")
}
