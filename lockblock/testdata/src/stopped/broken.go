package stopped

import (
	"sync"
	"time"
)

// Each group below breaks one condition of the shape; the wait stays
// reported.

// Blind's goroutine sends without a case for done: a reader that stops
// reading holds it, and the close with it.
type Blind struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	out  chan int
	done chan struct{}
}

func NewBlind() *Blind { return &Blind{out: make(chan int), done: make(chan struct{})} }

func (b *Blind) Deliver(v int) {
	b.wg.Add(1)
	go b.later(v)
}

func (b *Blind) later(v int) {
	b.out <- v
	b.wg.Done()
}

func (b *Blind) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.done)
	b.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while b\.mu may be held`
}

// Locking's goroutine takes the lock that the close holds.
type Locking struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	n    int
	done chan struct{}
}

func NewLocking() *Locking { return &Locking{done: make(chan struct{})} }

func (l *Locking) Start() {
	l.wg.Add(1)
	go l.run()
}

func (l *Locking) run() {
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

func (l *Locking) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.done)
	l.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while l\.mu may be held`
}

// Sleepy's goroutine sleeps between two looks at done.
type Sleepy struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewSleepy() *Sleepy { return &Sleepy{done: make(chan struct{})} }

func (s *Sleepy) Start() {
	s.wg.Add(1)
	go s.run()
}

func (s *Sleepy) run() {
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

func (s *Sleepy) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.done)
	s.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while s\.mu may be held`
}

// Late closes done after the wait, which then waits for nothing that
// tells the goroutine to end.
type Late struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewLate() *Late { return &Late{done: make(chan struct{})} }

func (l *Late) Start() {
	l.wg.Add(1)
	go l.run()
}

func (l *Late) run() {
	<-l.done
	l.wg.Done()
}

func (l *Late) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	l.mu.Lock()
	defer l.mu.Unlock()
	l.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while l\.mu may be held`
	close(l.done)
}

// Maybe closes done on one path only.
type Maybe struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewMaybe() *Maybe { return &Maybe{done: make(chan struct{})} }

func (m *Maybe) Start() {
	m.wg.Add(1)
	go m.run()
}

func (m *Maybe) run() {
	<-m.done
	m.wg.Done()
}

func (m *Maybe) Close(now bool) { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	m.mu.Lock()
	defer m.mu.Unlock()
	if now {
		close(m.done)
	}
	m.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while m\.mu may be held`
}

// Other closes the done channel of another value than the one it waits
// for.
type Other struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewOther() *Other { return &Other{done: make(chan struct{})} }

func (o *Other) Start() {
	o.wg.Add(1)
	go o.run()
}

func (o *Other) run() {
	<-o.done
	o.wg.Done()
}

func (o *Other) Close(peer *Other) { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	o.mu.Lock()
	defer o.mu.Unlock()
	close(peer.done)
	o.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while o\.mu may be held`
}

// Restart makes a new done channel for each run: a goroutine of the last
// run may still wait on the old one, which nothing closes.
type Restart struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func (r *Restart) Start() {
	r.done = make(chan struct{})
	r.wg.Add(1)
	go r.run()
}

func (r *Restart) run() {
	<-r.done
	r.wg.Done()
}

func (r *Restart) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	r.mu.Lock()
	defer r.mu.Unlock()
	close(r.done)
	r.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while r\.mu may be held`
}

// Between calls a function between Add and the go statement, which may
// wait with the count already taken.
type Between struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
	ch   chan int
}

func NewBetween() *Between { return &Between{done: make(chan struct{}), ch: make(chan int)} }

func (b *Between) Start() { // want Start:`mayBlock\(stopped\.Between\.ready → channel receive at broken.go:\d+\)`
	b.wg.Add(1)
	b.ready()
	go b.run()
}

func (b *Between) ready() { <-b.ch }

func (b *Between) run() {
	<-b.done
	b.wg.Done()
}

func (b *Between) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.done)
	b.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while b\.mu may be held`
}

// Partial's goroutine marks itself done on one path only: the wait may
// last for ever.
type Partial struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
	ok   bool
}

func NewPartial() *Partial { return &Partial{done: make(chan struct{})} }

func (p *Partial) Start() {
	p.wg.Add(1)
	go p.run()
}

func (p *Partial) run() {
	<-p.done
	if p.ok {
		p.wg.Done()
	}
}

func (p *Partial) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.done)
	p.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while p\.mu may be held`
}

// Outside counts work that is not a goroutine told to stop: Do adds and
// marks done around a send of its own.
type Outside struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
	ch   chan int
}

func NewOutside() *Outside { return &Outside{done: make(chan struct{}), ch: make(chan int)} }

func (o *Outside) Start() {
	o.wg.Add(1)
	go o.run()
}

func (o *Outside) run() {
	<-o.done
	o.wg.Done()
}

func (o *Outside) Do(v int) { // want Do:`mayBlock\(channel send at broken.go:\d+\)`
	o.ch <- v
	o.wg.Done()
}

func (o *Outside) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.done)
	o.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while o\.mu may be held`
}

// Many adds two for one goroutine.
type Many struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewMany() *Many { return &Many{done: make(chan struct{})} }

func (m *Many) Start() {
	m.wg.Add(2)
	go m.run()
}

func (m *Many) run() {
	<-m.done
	m.wg.Done()
}

func (m *Many) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	m.mu.Lock()
	defer m.mu.Unlock()
	close(m.done)
	m.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while m\.mu may be held`
}

// Handed gives its WaitGroup to a helper, which may count anything.
type Handed struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewHanded() *Handed { return &Handed{done: make(chan struct{})} }

func (h *Handed) Start() {
	h.wg.Add(1)
	go h.run()
	track(&h.wg)
}

func track(wg *sync.WaitGroup) { wg.Add(1) }

func (h *Handed) run() {
	<-h.done
	h.wg.Done()
}

func (h *Handed) Close() { // want Close:`mayBlock\(call to sync\.WaitGroup\.Wait at broken.go:\d+\)`
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.done)
	h.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while h\.mu may be held`
}

// Unstarted sets a done channel in one constructor that starts no
// goroutine to close it.
type Unstarted struct {
	mu   sync.Mutex
	in   chan int
	done chan struct{}
}

func NewUnstarted() *Unstarted {
	u := &Unstarted{in: make(chan int), done: make(chan struct{})}
	go u.run()
	return u
}

func NewIdle() *Unstarted {
	return &Unstarted{in: make(chan int), done: make(chan struct{})}
}

func (u *Unstarted) run() {
	defer close(u.done)
	for range u.in {
	}
}

func (u *Unstarted) Close() { // want Close:`mayBlock\(channel receive at broken.go:\d+\)`
	u.mu.Lock()
	defer u.mu.Unlock()
	close(u.in)
	<-u.done // want `channel receive while u\.mu may be held`
}

// Sometimes' goroutine closes done on one path only.
type Sometimes struct {
	mu   sync.Mutex
	in   chan int
	done chan struct{}
	n    int
}

func NewSometimes() *Sometimes {
	s := &Sometimes{in: make(chan int), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *Sometimes) run() {
	for v := range s.in {
		s.n += v
	}
	if s.n > 0 {
		close(s.done)
	}
}

func (s *Sometimes) Close() { // want Close:`mayBlock\(channel receive at broken.go:\d+\)`
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.in)
	<-s.done // want `channel receive while s\.mu may be held`
}

// Nested's goroutine waits in a function it calls, where done is not
// looked at.
type Nested struct {
	mu   sync.Mutex
	in   chan int
	out  chan int
	done chan struct{}
}

func NewNested() *Nested {
	n := &Nested{in: make(chan int), out: make(chan int), done: make(chan struct{})}
	go n.run()
	return n
}

func (n *Nested) run() {
	defer close(n.done)
	for v := range n.in {
		n.pass(v)
	}
}

func (n *Nested) pass(v int) { n.out <- v }

func (n *Nested) Close() { // want Close:`mayBlock\(channel receive at broken.go:\d+\)`
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.in)
	<-n.done // want `channel receive while n\.mu may be held`
}
