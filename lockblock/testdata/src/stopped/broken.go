package stopped

import (
	"sync"
	"time"
)

// Each group below breaks one condition of the shape; the wait stays
// reported.

// blind's goroutine sends without a case for done: a reader that stops
// reading holds it, and the close with it.
type blind struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	out  chan int
	done chan struct{}
}

func NewBlind() *blind { return &blind{out: make(chan int), done: make(chan struct{})} }

func (b *blind) Deliver(v int) {
	b.wg.Add(1)
	go b.later(v)
}

func (b *blind) later(v int) {
	b.out <- v
	b.wg.Done()
}

func (b *blind) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.done)
	b.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while b\.mu may be held`
}

// locking's goroutine takes the lock that the close holds.
type locking struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	n    int
	done chan struct{}
}

func NewLocking() *locking { return &locking{done: make(chan struct{})} }

func (l *locking) Start() {
	l.wg.Add(1)
	go l.run()
}

func (l *locking) run() {
	defer l.wg.Done()
	for {
		select {
		case <-l.done:
			return
		default:
		}
		l.mu.Lock()
		l.n++
		l.mu.Unlock()
	}
}

func (l *locking) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.done)
	l.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while l\.mu may be held`
}

// sleepy's goroutine sleeps between two looks at done.
type sleepy struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewSleepy() *sleepy { return &sleepy{done: make(chan struct{})} }

func (s *sleepy) Start() {
	s.wg.Add(1)
	go s.run()
}

func (s *sleepy) run() {
	defer s.wg.Done()
	for {
		select {
		case <-s.done:
			return
		default:
		}
		time.Sleep(time.Second)
	}
}

func (s *sleepy) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.done)
	s.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while s\.mu may be held`
}

// late closes done after the wait, which then waits for nothing that
// tells the goroutine to end.
type late struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewLate() *late { return &late{done: make(chan struct{})} }

func (l *late) Start() {
	l.wg.Add(1)
	go l.run()
}

func (l *late) run() {
	<-l.done
	l.wg.Done()
}

func (l *late) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while l\.mu may be held`
	close(l.done)
}

// maybe closes done on one path only.
type maybe struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewMaybe() *maybe { return &maybe{done: make(chan struct{})} }

func (m *maybe) Start() {
	m.wg.Add(1)
	go m.run()
}

func (m *maybe) run() {
	<-m.done
	m.wg.Done()
}

func (m *maybe) Close(now bool) { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	m.mu.Lock()
	defer m.mu.Unlock()
	if now {
		close(m.done)
	}
	m.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while m\.mu may be held`
}

// other closes the done channel of another value than the one it waits
// for.
type other struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewOther() *other { return &other{done: make(chan struct{})} }

func (o *other) Start() {
	o.wg.Add(1)
	go o.run()
}

func (o *other) run() {
	<-o.done
	o.wg.Done()
}

func (o *other) Close(peer *other) { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	o.mu.Lock()
	defer o.mu.Unlock()
	close(peer.done)
	o.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while o\.mu may be held`
}

// restart makes a new done channel for each run: a goroutine of the last
// run may still wait on the old one, which nothing closes.
type restart struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func (r *restart) Start() {
	r.done = make(chan struct{})
	r.wg.Add(1)
	go r.run()
}

func (r *restart) run() {
	<-r.done
	r.wg.Done()
}

func (r *restart) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.done)
	r.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while r\.mu may be held`
}

// between calls a function between Add and the go statement, which may
// wait with the count already taken.
type between struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
	ch   chan int
}

func NewBetween() *between { return &between{done: make(chan struct{}), ch: make(chan int)} }

func (b *between) Start() { // want Start:`mayBlock\(stopped\.between\.ready → channel receive at broken.go:\d+\)`
	b.wg.Add(1)
	b.ready()
	go b.run()
}

func (b *between) ready() { <-b.ch }

func (b *between) run() {
	<-b.done
	b.wg.Done()
}

func (b *between) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.done)
	b.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while b\.mu may be held`
}

// partial's goroutine marks itself done on one path only: the wait may
// last for ever.
type partial struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
	ok   bool
}

func NewPartial() *partial { return &partial{done: make(chan struct{})} }

func (p *partial) Start() {
	p.wg.Add(1)
	go p.run()
}

func (p *partial) run() {
	<-p.done
	if p.ok {
		p.wg.Done()
	}
}

func (p *partial) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.done)
	p.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while p\.mu may be held`
}

// outside counts work that is not a goroutine told to stop: Do adds and
// marks done around a send of its own.
type outside struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
	ch   chan int
}

func NewOutside() *outside { return &outside{done: make(chan struct{}), ch: make(chan int)} }

func (o *outside) Start() {
	o.wg.Add(1)
	go o.run()
}

func (o *outside) run() {
	<-o.done
	o.wg.Done()
}

func (o *outside) Do(v int) { // want Do:`mayBlock\(channel send at broken.go:\d+\)`
	o.ch <- v
	o.wg.Done()
}

func (o *outside) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.done)
	o.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while o\.mu may be held`
}

// many adds two for one goroutine.
type many struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewMany() *many { return &many{done: make(chan struct{})} }

func (m *many) Start() {
	m.wg.Add(2)
	go m.run()
}

func (m *many) run() {
	<-m.done
	m.wg.Done()
}

func (m *many) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	m.mu.Lock()
	defer m.mu.Unlock()
	close(m.done)
	m.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while m\.mu may be held`
}

// handed gives its WaitGroup to a helper, which may count anything.
type handed struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewHanded() *handed { return &handed{done: make(chan struct{})} }

func (h *handed) Start() {
	h.wg.Add(1)
	go h.run()
	track(&h.wg)
}

func track(wg *sync.WaitGroup) { wg.Add(1) }

func (h *handed) run() {
	<-h.done
	h.wg.Done()
}

func (h *handed) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.done)
	h.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while h\.mu may be held`
}

// unstarted sets a done channel in one constructor that starts no
// goroutine to close it.
type unstarted struct {
	mu   sync.Mutex
	in   chan int
	done chan struct{}
}

func NewUnstarted() *unstarted {
	u := &unstarted{in: make(chan int), done: make(chan struct{})}
	go u.run()
	return u
}

func NewIdle() *unstarted {
	return &unstarted{in: make(chan int), done: make(chan struct{})}
}

func (u *unstarted) run() {
	defer close(u.done)
	for range u.in {
	}
}

func (u *unstarted) Close() { // want Close:`mayBlock\(channel receive at broken.go:\d+\)`
	u.mu.Lock()
	defer u.mu.Unlock()
	close(u.in)
	<-u.done // want `channel receive while u\.mu may be held`
}

// Sometimes' goroutine closes done on one path only.
type sometimes struct {
	mu   sync.Mutex
	in   chan int
	done chan struct{}
	n    int
}

func NewSometimes() *sometimes {
	s := &sometimes{in: make(chan int), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *sometimes) run() {
	for v := range s.in {
		s.n += v
	}
	if s.n > 0 {
		close(s.done)
	}
}

func (s *sometimes) Close() { // want Close:`mayBlock\(channel receive at broken.go:\d+\)`
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.in)
	<-s.done // want `channel receive while s\.mu may be held`
}

// nested's goroutine waits in a function it calls, where done is not
// looked at.
type nested struct {
	mu   sync.Mutex
	in   chan int
	out  chan int
	done chan struct{}
}

func NewNested() *nested {
	n := &nested{in: make(chan int), out: make(chan int), done: make(chan struct{})}
	go n.run()
	return n
}

func (n *nested) run() {
	defer close(n.done)
	for v := range n.in {
		n.pass(v)
	}
}

func (n *nested) pass(v int) { n.out <- v }

func (n *nested) Close() { // want Close:`mayBlock\(channel receive at broken.go:\d+\)`
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.in)
	<-n.done // want `channel receive while n\.mu may be held`
}
