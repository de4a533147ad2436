package ok_os_fa_forms

import "sync"

// A: index form over a slice.
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

func (w *A) fire(v int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.chs {
		ch := w.chs[i]
		ch <- v
		close(ch)
	}
	w.chs = w.chs[:0]
}

// B: v, ok := m[k] with an early return.
type B struct {
	mu      sync.Mutex
	waiting map[int]chan string
}

func (r *B) wait(id int) <-chan string {
	ch := make(chan string, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.waiting == nil {
		r.waiting = make(map[int]chan string)
	}
	r.waiting[id] = ch
	return ch
}

func (r *B) resolve(id int, v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch, ok := r.waiting[id]
	if !ok {
		return
	}
	delete(r.waiting, id)
	ch <- v
	close(ch)
}

// C: a map of slices, emptied by delete.
type C struct {
	mu sync.Mutex
	m  map[string][]chan error
}

func (c *C) add(k string) <-chan error {
	ch := make(chan error, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]chan error{}
	}
	c.m[k] = append(c.m[k], ch)
	return ch
}

func (c *C) done(k string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	chs, ok := c.m[k]
	if !ok {
		return
	}
	for _, ch := range chs {
		ch <- err
		close(ch)
	}
	delete(c.m, k)
}
