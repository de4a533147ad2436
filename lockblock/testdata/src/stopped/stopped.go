// Package stopped holds waits, under a lock, for goroutines that a close
// of a stop channel tells to end, and that wait for nothing else: such a
// wait lasts only as long as their work in memory. Each way the shape can
// be broken is a case that stays reported.
package stopped

import (
	"sync"
)

// Signals is the shape of a signal handler's channel: a delivery that
// cannot hand its value over at once goes on in a goroutine, which the
// close tells to give up.
type Signals struct {
	mu   sync.Mutex
	subs []*sub
}

type sub struct {
	wg   sync.WaitGroup
	out  chan<- int
	done chan struct{}
}

func (s *Signals) Add(out chan<- int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, &sub{out: out, done: make(chan struct{})})
}

func (s *Signals) Deliver(v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sb := range s.subs {
		sb.deliver(v)
	}
}

func (s *Signals) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sb := range s.subs {
		sb.close()
	}
	s.subs = nil
}

func (sb *sub) deliver(v int) {
	select {
	case sb.out <- v:
	case <-sb.done:
	default:
		sb.wg.Add(1)
		go sb.later(v)
	}
}

func (sb *sub) later(v int) {
	select {
	case sb.out <- v:
	case <-sb.done:
	}
	sb.wg.Done()
}

func (sb *sub) close() {
	close(sb.done)
	sb.wg.Wait()
}

// Ordered is the shape of an ordered handler: one goroutine per queue
// keeps the values in memory until the reader takes them, and ends when
// its input is closed, closing done.
type Ordered struct {
	mu sync.RWMutex
	qs []*queue
}

type queue struct {
	out  chan<- int
	in   chan int
	done chan struct{}
}

func newQueue(out chan<- int) *queue {
	q := &queue{out: out, in: make(chan int), done: make(chan struct{})}
	go q.buffer()
	return q
}

func (q *queue) buffer() {
	defer close(q.done)
	var pending []int
	for {
		if len(pending) == 0 {
			v, ok := <-q.in
			if !ok {
				return
			}
			pending = append(pending, v)
		}
		select {
		case q.out <- pending[0]:
			pending = pending[1:]
		case v, ok := <-q.in:
			if !ok {
				return
			}
			pending = append(pending, v)
		}
	}
}

func (q *queue) close() {
	close(q.in)
	<-q.done
}

func (o *Ordered) Add(out chan<- int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.qs = append(o.qs, newQueue(out))
}

func (o *Ordered) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, q := range o.qs {
		q.close()
	}
	o.qs = nil
}

// plain is the smallest shape that each case in broken.go breaks in one
// way: one goroutine that waits for done, counted by Add(1) right before
// it starts.
type plain struct {
	mu   sync.Mutex
	wg   sync.WaitGroup
	done chan struct{}
}

func NewPlain() *plain { return &plain{done: make(chan struct{})} }

func (p *plain) Start() {
	p.wg.Add(1)
	go p.run()
}

func (p *plain) run() {
	<-p.done
	p.wg.Done()
}

func (p *plain) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.done)
	p.wg.Wait()
}

// drain is the smallest done-channel shape: a goroutine ranges over its
// input until it is closed, and closes done on its way out.
type drain struct {
	mu   sync.Mutex
	in   chan int
	done chan struct{}
	n    int
}

func NewDrain() *drain {
	d := &drain{in: make(chan int), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *drain) run() {
	defer close(d.done)
	for v := range d.in {
		d.n += v
	}
}

func (d *drain) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	close(d.in)
	<-d.done
}
