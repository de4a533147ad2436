// Package oneshot holds channels made with room for one value, kept in a
// map or slice field, and sent into once and closed: such a send never
// waits. Each way the shape can be broken is a case that stays reported.
package oneshot

import "sync"

type event struct{ path string }

// watchers: a map of slices of channels, as a ZooKeeper client keeps.
type watchers struct {
	mu sync.Mutex
	m  map[string][]chan event
}

func newWatchers() *watchers {
	return &watchers{m: make(map[string][]chan event)}
}

func (w *watchers) add(path string) <-chan event {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := make(chan event, 1)
	w.m[path] = append(w.m[path], ch)
	return ch
}

func (w *watchers) fire(ev event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ch := range w.m[ev.path] {
		ch <- ev
		close(ch)
	}
	delete(w.m, ev.path)
}

func (w *watchers) invalidate() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for path, chs := range w.m {
		for _, ch := range chs {
			ch <- event{path}
			close(ch)
		}
	}
	w.m = make(map[string][]chan event)
}

// broadcaster: a slice of send-only channels, emptied before the sends.
type broadcaster struct {
	mu        sync.Mutex
	listeners []chan<- error
}

func (b *broadcaster) listen() <-chan error {
	ch := make(chan error, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.listeners = append(b.listeners, ch)
	return ch
}

func (b *broadcaster) broadcast(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.listeners
	b.listeners = nil
	for _, l := range cur {
		l <- err
		close(l)
	}
}

func (b *broadcaster) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.listeners {
		close(l)
	}
	b.listeners = nil
}

// replies: a map of channels, taken with v, ok := m[k].
type replies struct {
	mu      sync.Mutex
	waiting map[int]chan string
}

func (r *replies) wait(id int) string {
	ch := make(chan string, 1)
	r.mu.Lock()
	r.waiting[id] = ch
	r.mu.Unlock()
	return <-ch
}

func (r *replies) resolve(id int, v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch, ok := r.waiting[id]; ok {
		delete(r.waiting, id)
		ch <- v
		close(ch)
	}
}

// Without ok, a missing key gives a nil channel, which blocks for ever.
type noOk struct {
	mu      sync.Mutex
	waiting map[int]chan string
}

func (r *noOk) wait(id int) <-chan string {
	ch := make(chan string, 1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waiting[id] = ch
	return ch
}

func (r *noOk) resolve(id int, v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := r.waiting[id]
	ch <- v // want `channel send while r.mu may be held`
	close(ch)
}

// A send that is not followed by a close may be the second.
type noClose struct {
	mu  sync.Mutex
	chs []chan int
}

func (n *noClose) add() <-chan int {
	ch := make(chan int, 1)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.chs = append(n.chs, ch)
	return ch
}

func (n *noClose) fire(v int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.chs {
		ch <- v // want `channel send while n.mu may be held`
	}
}

// A call between the send and the close: not the shape.
type callBetween struct {
	mu  sync.Mutex
	chs []chan int
}

func (n *callBetween) add() <-chan int {
	ch := make(chan int, 1)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.chs = append(n.chs, ch)
	return ch
}

func note() {}

func (n *callBetween) fire(v int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.chs {
		ch <- v // want `channel send while n.mu may be held`
		note()
		close(ch)
	}
}

// Another send into the same channels without a close: the one that
// closes may be the second.
type twoSenders struct {
	mu  sync.Mutex
	chs []chan int
}

func (n *twoSenders) add() <-chan int {
	ch := make(chan int, 1)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.chs = append(n.chs, ch)
	return ch
}

func (n *twoSenders) ping() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.chs {
		ch <- 0 // want `channel send while n.mu may be held`
	}
}

func (n *twoSenders) fire(v int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.chs {
		ch <- v // want `channel send while n.mu may be held`
		close(ch)
	}
	n.chs = nil
}

// A channel without room.
type unbuffered struct {
	mu  sync.Mutex
	chs []chan int
}

func (n *unbuffered) add() <-chan int {
	ch := make(chan int)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.chs = append(n.chs, ch)
	return ch
}

func (n *unbuffered) fire(v int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.chs {
		ch <- v // want `channel send while n.mu may be held`
		close(ch)
	}
}

// A channel the caller hands in: the caller may send into it too.
type handedIn struct {
	mu  sync.Mutex
	chs []chan int
}

func (n *handedIn) add(ch chan int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.chs = append(n.chs, ch)
}

func (n *handedIn) fire(v int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.chs {
		ch <- v // want `channel send while n.mu may be held`
		close(ch)
	}
}

// A new channel handed out with its send side.
type handedOut struct {
	mu  sync.Mutex
	chs []chan int
}

func (n *handedOut) add() chan int {
	ch := make(chan int, 1)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.chs = append(n.chs, ch)
	return ch
}

func (n *handedOut) fire(v int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.chs {
		ch <- v // want `channel send while n.mu may be held`
		close(ch)
	}
}

// A slice made with a length holds nil channels.
type madeLong struct {
	mu  sync.Mutex
	chs []chan int
}

func (n *madeLong) reset(k int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.chs = make([]chan int, k)
}

func (n *madeLong) fire(v int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.chs {
		ch <- v // want `channel send while n.mu may be held`
		close(ch)
	}
}

// The container handed to a function, which may put any channel in it.
type leaked struct {
	mu  sync.Mutex
	chs []chan int
}

func fill(chs []chan int, ch chan int) { chs[0] = ch }

func (n *leaked) give(ch chan int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fill(n.chs, ch)
}

func (n *leaked) fire(v int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.chs {
		ch <- v // want `channel send while n.mu may be held`
		close(ch)
	}
}

// An exported field may be filled by another package.
type Exported struct {
	mu  sync.Mutex
	Chs []chan int
}

func (n *Exported) Fire(v int) { // want Fire:`mayBlock\(channel send`
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.Chs {
		ch <- v // want `channel send while n.mu may be held`
		close(ch)
	}
}
