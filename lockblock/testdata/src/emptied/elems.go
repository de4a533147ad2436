package emptied

import "sync"

// Server keeps the channels of its subscribers in a map: each is made
// with room for one, filled with the current state before it is stored,
// and every send into it empties it first, under subLock. A subscriber
// always finds the latest state, and the sender never waits.
type Server struct {
	subLock sync.Mutex
	subs    map[uint64]chan int
	next    uint64
	state   int
}

type Sub struct {
	C  <-chan int
	s  *Server
	id uint64
}

func NewServer() *Server { return &Server{subs: map[uint64]chan int{}} }

func (s *Server) Subscribe(fresh bool) *Sub {
	ch := make(chan int, 1)
	v := s.state
	if fresh {
		v = 0
	}
	ch <- v
	s.subLock.Lock()
	defer s.subLock.Unlock()
	id := s.next
	s.subs[id] = ch
	s.next++
	return &Sub{C: ch, s: s, id: id}
}

func (s *Server) Update(v int) {
	s.subLock.Lock()
	s.state = v
	for _, c := range s.subs {
		select {
		case <-c:
		default:
		}
		c <- v
	}
	s.subLock.Unlock()
}

func (ss *Sub) Unsubscribe() {
	ss.s.subLock.Lock()
	defer ss.s.subLock.Unlock()
	ch, ok := ss.s.subs[ss.id]
	if !ok {
		return
	}
	close(ch)
	delete(ss.s.subs, ss.id)
}

// unlockedSubs has a sender that holds no lock: two senders may empty
// the channel at once and both send.
type unlockedSubs struct {
	mu   sync.Mutex
	subs map[int]chan int
}

func (u *unlockedSubs) add(id int) {
	u.mu.Lock()
	u.subs[id] = make(chan int, 1)
	u.mu.Unlock()
}

func (u *unlockedSubs) notify(v int) {
	for _, c := range u.subs {
		select {
		case <-c:
		default:
		}
		c <- v
	}
}

func (u *unlockedSubs) Locked(v int) { // want Locked:`mayBlock\(emptied.unlockedSubs.notify`
	u.mu.Lock()
	u.notify(v) // want `call to emptied.unlockedSubs.notify, which may block \(channel send at elems.go:\d+\) while u.mu may be held`
	u.mu.Unlock()
}

func (u *unlockedSubs) Unlocked(v int) { // want Unlocked:`mayBlock\(emptied.unlockedSubs.notify`
	u.notify(v)
}

// lateSubs sends into a channel after it is stored, without the lock.
type lateSubs struct {
	mu   sync.Mutex
	subs map[int]chan int
}

func (l *lateSubs) Add(id, v int) { // want Add:`mayBlock\(channel send at elems.go:\d+\)`
	ch := make(chan int, 1)
	l.mu.Lock()
	l.subs[id] = ch
	l.mu.Unlock()
	ch <- v
	ch <- v
}

func (l *lateSubs) Notify(v int) { // want Notify:`mayBlock\(channel send at elems.go:\d+\)`
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.subs {
		select {
		case <-c:
		default:
		}
		c <- v // want `channel send while l.mu may be held`
	}
}

// callSubs calls a hook between the drain and the send: it may fill the
// channel again.
type callSubs struct {
	mu   sync.Mutex
	subs map[int]chan int
	hook func()
}

func (h *callSubs) Add(id int) {
	h.mu.Lock()
	h.subs[id] = make(chan int, 1)
	h.mu.Unlock()
}

func (h *callSubs) Notify(v int) { // want Notify:`mayBlock\(channel send at elems.go:\d+\)`
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.subs {
		select {
		case <-c:
		default:
		}
		h.hook()
		c <- v // want `channel send while h.mu may be held`
	}
}

// lookupSubs sends into m[id] without asking whether id is there: a
// missing key gives a nil channel, which blocks for ever.
type lookupSubs struct {
	mu   sync.Mutex
	subs map[int]chan int
}

func (l *lookupSubs) Add(id int) {
	l.mu.Lock()
	l.subs[id] = make(chan int, 1)
	l.mu.Unlock()
}

func (l *lookupSubs) Notify(id, v int) { // want Notify:`mayBlock\(channel send at elems.go:\d+\)`
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.subs[id]
	select {
	case <-c:
	default:
	}
	c <- v // want `channel send while l.mu may be held`
}

// copiedSubs is copied whole: the copy's mutex is another, and the map
// the same.
type copiedSubs struct {
	mu   sync.Mutex
	subs map[int]chan int
}

func (p *copiedSubs) Add(id int) {
	p.mu.Lock()
	p.subs[id] = make(chan int, 1)
	p.mu.Unlock()
}

func (p *copiedSubs) clone() *copiedSubs {
	q := *p
	return &q
}

func (p *copiedSubs) Notify(v int) { // want Notify:`mayBlock\(channel send at elems.go:\d+\)`
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.subs {
		select {
		case <-c:
		default:
		}
		c <- v // want `channel send while p.mu may be held`
	}
}

// ExportedSubs lets other packages put channels into its map.
type ExportedSubs struct {
	mu   sync.Mutex
	Subs map[int]chan int
}

func (e *ExportedSubs) Notify(v int) { // want Notify:`mayBlock\(channel send at elems.go:\d+\)`
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.Subs {
		select {
		case <-c:
		default:
		}
		c <- v // want `channel send while e.mu may be held`
	}
}

// sliceSubs is made with a length: its channels are nil.
type sliceSubs struct {
	mu   sync.Mutex
	subs []chan int
}

func newSliceSubs() *sliceSubs { return &sliceSubs{subs: make([]chan int, 4)} }

func (s *sliceSubs) Notify(v int) { // want Notify:`mayBlock\(channel send at elems.go:\d+\)`
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.subs {
		select {
		case <-c:
		default:
		}
		c <- v // want `channel send while s.mu may be held`
	}
}

// loopSubs fills a channel round a loop that also stores it: the second
// turn's fill comes after the first turn's store, when a sender that
// drains first may already have sent.
type loopSubs struct {
	mu   sync.Mutex
	subs map[int]chan int
}

func (l *loopSubs) Add(ids []int) { // want Add:`mayBlock\(channel send at elems.go:\d+\)`
	ch := make(chan int, 1)
	for _, id := range ids {
		ch <- id
		l.mu.Lock()
		l.subs[id] = ch
		l.mu.Unlock()
	}
}

func (l *loopSubs) Notify(v int) { // want Notify:`mayBlock\(channel send at elems.go:\d+\)`
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.subs {
		select {
		case <-c:
		default:
		}
		c <- v // want `channel send while l.mu may be held`
	}
}
