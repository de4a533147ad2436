// Package served holds queues with room that one goroutine reads, started
// by whoever makes the queue, doing only work in memory between two
// receives: a send into such a queue does not wait for anything but that
// work. Each way the shape can be broken is a case that stays reported.
package served

import (
	"bufio"
	"container/heap"
	"context"
	"fmt"
	"log"
	"net"
	"sort"
	"strings"
	"sync"
	"time"
)

type mark struct {
	index  uint64
	done   bool
	waiter chan struct{}
}

type indexHeap []uint64

func (h indexHeap) Len() int           { return len(h) }
func (h indexHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h indexHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *indexHeap) Push(x any)        { *h = append(*h, x.(uint64)) }
func (h *indexHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func assertf(ok bool, format string, args ...any) {
	if !ok {
		log.Fatalf("%+v", fmt.Errorf(format, args...))
	}
}

// Marks is the shape of a watermark: a goroutine started with the queue
// keeps a heap of pending indices in memory.
type Marks struct {
	mu      sync.Mutex
	ch      chan mark
	stop    chan struct{}
	pending map[uint64]int
}

func (w *Marks) Init() {
	w.stop = make(chan struct{})
	w.ch = make(chan mark, 100)
	go w.process()
}

func (w *Marks) process() {
	var h indexHeap
	waiters := map[uint64][]chan struct{}{}
	one := func(m mark) {
		if _, ok := w.pending[m.index]; !ok {
			heap.Push(&h, m.index)
		}
		if m.index == 0 {
			assertf(false, "index %d", m.index)
		}
		for len(h) > 0 && w.pending[h[0]] == 0 {
			heap.Pop(&h)
		}
	}
	for {
		select {
		case <-w.stop:
			return
		case m := <-w.ch:
			if m.waiter != nil {
				waiters[m.index] = append(waiters[m.index], m.waiter)
				continue
			}
			one(m)
			for _, ch := range waiters[m.index] {
				close(ch)
			}
		}
	}
}

func (w *Marks) Begin(i uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ch <- mark{index: i}
}

// Counter is read with a range loop, started by its constructor.
type Counter struct {
	mu    sync.Mutex
	in    chan int
	total int
}

func NewCounter() *Counter {
	c := &Counter{in: make(chan int, 8)}
	go c.count()
	return c
}

func (c *Counter) count() {
	for n := range c.in {
		c.total += n
	}
}

func (c *Counter) Add(n int) {
	c.mu.Lock()
	c.in <- n
	c.mu.Unlock()
}

// Forwarder's reader passes each value on into a channel nobody may read:
// it can stop, and the queue fill.
type Forwarder struct {
	mu  sync.Mutex
	in  chan int
	out chan int
}

func NewForwarder() *Forwarder {
	f := &Forwarder{in: make(chan int, 8), out: make(chan int)}
	go f.forward()
	return f
}

func (f *Forwarder) forward() {
	for n := range f.in {
		f.out <- n
	}
}

func (f *Forwarder) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	f.mu.Lock()
	f.in <- n // want `channel send while f.mu may be held`
	f.mu.Unlock()
}

// Locker's reader takes the lock its senders hold: once the queue is
// full, a sender waits for the reader and the reader for the sender.
type Locker struct {
	mu   sync.Mutex
	in   chan int
	seen int
}

func NewLocker() *Locker {
	l := &Locker{in: make(chan int, 8)}
	go l.read()
	return l
}

func (l *Locker) read() {
	for n := range l.in {
		l.mu.Lock()
		l.seen += n
		l.mu.Unlock()
	}
}

func (l *Locker) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	l.mu.Lock()
	l.in <- n // want `channel send while l.mu may be held`
	l.mu.Unlock()
}

// Hooked's reader runs a hook, which may wait for anything.
type Hooked struct {
	mu   sync.Mutex
	in   chan int
	hook func(int)
}

func NewHooked(hook func(int)) *Hooked {
	h := &Hooked{in: make(chan int, 8), hook: hook}
	go h.read()
	return h
}

func (h *Hooked) read() {
	for n := range h.in {
		h.hook(n)
	}
}

func (h *Hooked) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	h.mu.Lock()
	h.in <- n // want `channel send while h.mu may be held`
	h.mu.Unlock()
}

type handler interface{ handle(int) }

// Invoker's reader calls an interface's method.
type Invoker struct {
	mu sync.Mutex
	in chan int
	h  handler
}

func NewInvoker(h handler) *Invoker {
	v := &Invoker{in: make(chan int, 8), h: h}
	go v.read()
	return v
}

func (v *Invoker) read() {
	for n := range v.in {
		v.h.handle(n)
	}
}

func (v *Invoker) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	v.mu.Lock()
	v.in <- n // want `channel send while v.mu may be held`
	v.mu.Unlock()
}

// Maybe starts its reader on one path only.
type Maybe struct {
	mu sync.Mutex
	in chan int
	n  int
}

func NewMaybe(async bool) *Maybe {
	m := &Maybe{in: make(chan int, 8)}
	if async {
		go m.read()
	}
	return m
}

func (m *Maybe) read() {
	for n := range m.in {
		m.n += n
	}
}

func (m *Maybe) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	m.mu.Lock()
	m.in <- n // want `channel send while m.mu may be held`
	m.mu.Unlock()
}

// Reset stores a new queue and starts no reader for it.
type Reset struct {
	mu sync.Mutex
	in chan int
	n  int
}

func NewReset() *Reset {
	r := &Reset{in: make(chan int, 8)}
	go r.read()
	return r
}

func (r *Reset) read() {
	for n := range r.in {
		r.n += n
	}
}

func (r *Reset) Reset() {
	r.in = make(chan int, 8)
}

func (r *Reset) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	r.mu.Lock()
	r.in <- n // want `channel send while r.mu may be held`
	r.mu.Unlock()
}

// Two is read by two functions: the second may be the one that waits.
type Two struct {
	mu sync.Mutex
	in chan int
	n  int
}

func NewTwo() *Two {
	t := &Two{in: make(chan int, 8)}
	go t.read()
	return t
}

func (t *Two) read() {
	for n := range t.in {
		t.n += n
	}
}

func (t *Two) Take() int { return <-t.in } // want Take:`mayBlock\(channel receive at served.go:\d+\)`

func (t *Two) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	t.mu.Lock()
	t.in <- n // want `channel send while t.mu may be held`
	t.mu.Unlock()
}

// Sleeper's reader sleeps between values.
type Sleeper struct {
	mu sync.Mutex
	in chan int
}

func NewSleeper() *Sleeper {
	s := &Sleeper{in: make(chan int, 8)}
	go s.read()
	return s
}

func (s *Sleeper) read() {
	for range s.in {
		time.Sleep(time.Second)
	}
}

func (s *Sleeper) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	s.mu.Lock()
	s.in <- n // want `channel send while s.mu may be held`
	s.mu.Unlock()
}

// Writer's reader writes each value to the network.
type Writer struct {
	mu   sync.Mutex
	in   chan []byte
	conn *net.TCPConn
}

func NewWriter(conn *net.TCPConn) *Writer {
	w := &Writer{in: make(chan []byte, 8), conn: conn}
	go w.read()
	return w
}

func (w *Writer) read() {
	for b := range w.in {
		w.send(b)
	}
}

func (w *Writer) send(b []byte) { w.conn.Write(b) }

func (w *Writer) Put(b []byte) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	w.mu.Lock()
	w.in <- b // want `channel send while w.mu may be held`
	w.mu.Unlock()
}

// Once reads one value and stops.
type Once struct {
	mu sync.Mutex
	in chan int
	n  int
}

func NewOnce() *Once {
	o := &Once{in: make(chan int, 8)}
	go o.read()
	return o
}

func (o *Once) read() {
	o.n = <-o.in
}

func (o *Once) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	o.mu.Lock()
	o.in <- n // want `channel send while o.mu may be held`
	o.mu.Unlock()
}

// Joiner's reader calls a function whose deferred Wait runs before it
// reads again.
type Joiner struct {
	mu sync.Mutex
	in chan int
	wg sync.WaitGroup
}

func NewJoiner() *Joiner {
	j := &Joiner{in: make(chan int, 8)}
	go j.read()
	return j
}

func (j *Joiner) read() {
	for n := range j.in {
		j.each(n)
	}
}

func (j *Joiner) each(n int) {
	defer j.wg.Wait()
	_ = n
}

func (j *Joiner) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	j.mu.Lock()
	j.in <- n // want `channel send while j.mu may be held`
	j.mu.Unlock()
}

// Sorter's reader hands sort.Slice a func value that takes the lock.
type Sorter struct {
	mu   sync.Mutex
	in   chan int
	vals []int
}

func NewSorter() *Sorter {
	s := &Sorter{in: make(chan int, 8)}
	go s.read()
	return s
}

func (s *Sorter) read() {
	for n := range s.in {
		s.vals = append(s.vals, n)
		sort.Slice(s.vals, func(i, j int) bool {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.vals[i] < s.vals[j]
		})
	}
}

func (s *Sorter) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	s.mu.Lock()
	s.in <- n // want `channel send while s.mu may be held`
	s.mu.Unlock()
}

// lockedHeap's Push takes the lock of the Heaper whose reader pushes.
type lockedHeap struct {
	mu   *sync.Mutex
	vals []int
}

func (h *lockedHeap) Len() int           { return len(h.vals) }
func (h *lockedHeap) Less(i, j int) bool { return h.vals[i] < h.vals[j] }
func (h *lockedHeap) Swap(i, j int)      { h.vals[i], h.vals[j] = h.vals[j], h.vals[i] }
func (h *lockedHeap) Push(x any) {
	h.mu.Lock()
	h.vals = append(h.vals, x.(int))
	h.mu.Unlock()
}
func (h *lockedHeap) Pop() any { return nil }

type Heaper struct {
	mu sync.Mutex
	in chan int
	h  lockedHeap
}

func NewHeaper() *Heaper {
	p := &Heaper{in: make(chan int, 8)}
	p.h.mu = &p.mu
	go p.read()
	return p
}

func (p *Heaper) read() {
	for n := range p.in {
		heap.Push(&p.h, n)
	}
}

func (p *Heaper) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	p.mu.Lock()
	p.in <- n // want `channel send while p.mu may be held`
	p.mu.Unlock()
}

// Late's reader waits for a start signal before it reads.
type Late struct {
	mu    sync.Mutex
	in    chan int
	ready chan struct{}
	n     int
}

func NewLate() *Late {
	l := &Late{in: make(chan int, 8), ready: make(chan struct{})}
	go l.read()
	return l
}

func (l *Late) read() {
	<-l.ready
	for n := range l.in {
		l.n += n
	}
}

func (l *Late) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	l.mu.Lock()
	l.in <- n // want `channel send while l.mu may be held`
	l.mu.Unlock()
}

// Handed gives its queue to another function, which may read it.
type Handed struct {
	mu sync.Mutex
	in chan int
	n  int
}

func NewHanded() *Handed {
	h := &Handed{in: make(chan int, 8)}
	go h.read()
	drain(h.in)
	return h
}

func drain(ch chan int) {}

func (h *Handed) read() {
	for n := range h.in {
		h.n += n
	}
}

func (h *Handed) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	h.mu.Lock()
	h.in <- n // want `channel send while h.mu may be held`
	h.mu.Unlock()
}

// Unbuffered has no room: each send waits for the reader to be at its
// receive.
type Unbuffered struct {
	mu sync.Mutex
	in chan int
	n  int
}

func NewUnbuffered() *Unbuffered {
	u := &Unbuffered{in: make(chan int)}
	go u.read()
	return u
}

func (u *Unbuffered) read() {
	for n := range u.in {
		u.n += n
	}
}

func (u *Unbuffered) Put(n int) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	u.mu.Lock()
	u.in <- n // want `channel send while u.mu may be held`
	u.mu.Unlock()
}

// Stoppable's reader stops with its context, and counts in a map kept
// by another package's type: what that type holds is its own.
type Stoppable struct {
	mu   sync.Mutex
	in   chan string
	seen map[string]int
	b    *strings.Builder
}

func NewStoppable(ctx context.Context) *Stoppable {
	s := &Stoppable{in: make(chan string, 8), seen: map[string]int{}, b: &strings.Builder{}}
	go s.read(ctx)
	return s
}

func (s *Stoppable) read(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case k := <-s.in:
			s.seen[k]++
			s.b.WriteString(k)
			sort.Strings(nil)
		}
	}
}

func (s *Stoppable) Put(k string) {
	s.mu.Lock()
	s.in <- k
	s.mu.Unlock()
}

// Buffered's reader writes through a bufio.Writer, which writes to
// whatever it wraps: a slow peer stops the reader.
type Buffered struct {
	mu sync.Mutex
	in chan []byte
	bw *bufio.Writer
}

func NewBuffered(conn net.Conn) *Buffered {
	b := &Buffered{in: make(chan []byte, 8), bw: bufio.NewWriter(conn)}
	go b.read()
	return b
}

func (b *Buffered) read() {
	for p := range b.in {
		b.bw.Write(p)
	}
}

func (b *Buffered) Put(p []byte) { // want Put:`mayBlock\(channel send at served.go:\d+\)`
	b.mu.Lock()
	b.in <- p // want `channel send while b.mu may be held`
	b.mu.Unlock()
}
