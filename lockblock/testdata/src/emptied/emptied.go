// Package emptied holds signal channels that every send empties first,
// under one lock that all its senders hold: such a send never waits.
// Each way the shape can be broken is a case that stays reported.
package emptied

import (
	"sync"
	"time"
)

// Cache is the shape of an expiring cache: its cleaner is told the next
// deadline through a channel with room for one.
type Cache[K comparable, V any] struct {
	items struct {
		mu     sync.Mutex
		values map[K]V
		timer  chan time.Duration
	}
	stop chan struct{}
}

func New[K comparable, V any]() *Cache[K, V] {
	c := &Cache[K, V]{stop: make(chan struct{})}
	c.items.values = map[K]V{}
	c.items.timer = make(chan time.Duration, 1)
	return c
}

// wake tells the cleaner the next deadline; its callers hold items.mu.
func (c *Cache[K, V]) wake(d time.Duration) {
	if len(c.items.timer) > 0 {
		select {
		case d1 := <-c.items.timer:
			if d1 < d {
				d = d1
			}
		default:
		}
	}
	c.items.timer <- d
}

func (c *Cache[K, V]) set(k K, v V) {
	c.items.values[k] = v
	c.wake(time.Second)
}

func (c *Cache[K, V]) get(k K, lockHere bool) V {
	if lockHere {
		c.items.mu.Lock()
	}
	v := c.items.values[k]
	c.wake(time.Second)
	if lockHere {
		c.items.mu.Unlock()
	}
	return v
}

func (c *Cache[K, V]) Set(k K, v V) {
	c.items.mu.Lock()
	defer c.items.mu.Unlock()
	c.set(k, v)
}

func (c *Cache[K, V]) Get(k K) V {
	return c.get(k, true)
}

func (c *Cache[K, V]) GetOrSet(k K, v V) V {
	c.items.mu.Lock()
	defer c.items.mu.Unlock()
	old := c.get(k, false)
	c.set(k, v)
	return old
}

func (c *Cache[K, V]) clean() {
	for {
		select {
		case <-c.stop:
			return
		case d := <-c.items.timer:
			_ = d
		}
	}
}

// unguarded: one sender does not hold the lock, so two may empty the
// channel together and the second send waits.
type unguarded struct {
	mu   sync.Mutex
	wake chan int
}

func newUnguarded() *unguarded { return &unguarded{wake: make(chan int, 1)} }

func (u *unguarded) poke(n int) {
	select {
	case <-u.wake:
	default:
	}
	u.wake <- n
}

func (u *unguarded) Locked(n int) { // want Locked:`mayBlock\(emptied.unguarded.poke`
	u.mu.Lock()
	defer u.mu.Unlock()
	u.poke(n) // want `call to emptied.unguarded.poke, which may block \(channel send at emptied.go:\d+\) while u.mu may be held`
}

func (u *unguarded) Unlocked(n int) { // want Unlocked:`mayBlock\(emptied.unguarded.poke`
	u.poke(n)
}

// notEmptied: the send is not preceded by a receive on every path.
type notEmptied struct {
	mu   sync.Mutex
	wake chan int
}

func newNotEmptied() *notEmptied { return &notEmptied{wake: make(chan int, 1)} }

func (e *notEmptied) Poke(n int, drain bool) { // want Poke:`mayBlock\(channel send`
	e.mu.Lock()
	defer e.mu.Unlock()
	if drain {
		select {
		case <-e.wake:
		default:
		}
	}
	e.wake <- n // want `channel send while e.mu may be held`
}

// twoLocks: the senders hold different locks.
type twoLocks struct {
	a, b sync.Mutex
	wake chan int
}

func newTwoLocks() *twoLocks { return &twoLocks{wake: make(chan int, 1)} }

func (t *twoLocks) poke(n int) {
	select {
	case <-t.wake:
	default:
	}
	t.wake <- n
}

func (t *twoLocks) ViaA(n int) { // want ViaA:`mayBlock\(emptied.twoLocks.poke`
	t.a.Lock()
	defer t.a.Unlock()
	t.poke(n) // want `call to emptied.twoLocks.poke, which may block \(channel send at emptied.go:\d+\) while t.a may be held`
}

func (t *twoLocks) ViaB(n int) { // want ViaB:`mayBlock\(emptied.twoLocks.poke`
	t.b.Lock()
	defer t.b.Unlock()
	t.poke(n) // want `call to emptied.twoLocks.poke, which may block \(channel send at emptied.go:\d+\) while t.b may be held`
}

// readLocked: a read lock lets two senders in at once.
type readLocked struct {
	mu   sync.RWMutex
	wake chan int
}

func newReadLocked() *readLocked { return &readLocked{wake: make(chan int, 1)} }

func (r *readLocked) Poke(n int) { // want Poke:`mayBlock\(channel send`
	r.mu.RLock()
	defer r.mu.RUnlock()
	select {
	case <-r.wake:
	default:
	}
	r.wake <- n // want `channel send while r.mu may be held \(read-locked`
}

// twice: a second send after the first fills the room the receive made.
type twice struct {
	mu   sync.Mutex
	wake chan int
}

func newTwice() *twice { return &twice{wake: make(chan int, 1)} }

func (t *twice) Poke(n int) { // want Poke:`mayBlock\(channel send`
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.wake:
	default:
	}
	t.wake <- n // want `channel send while t.mu may be held`
	t.wake <- n // want `channel send while t.mu may be held`
}

// handedOn: the channel goes to a helper that sends without the lock.
type handedOn struct {
	mu   sync.Mutex
	wake chan int
}

func newHandedOn() *handedOn { return &handedOn{wake: make(chan int, 1)} }

func (h *handedOn) Poke(n int) { // want Poke:`mayBlock\(channel send`
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.wake:
	default:
	}
	h.wake <- n // want `channel send while h.mu may be held`
}

func (h *handedOn) Other() {
	go fill(h.wake)
}

func fill(ch chan int) { ch <- 1 }

// unlockedBetween: the lock is let go between the receive and the send.
type unlockedBetween struct {
	mu   sync.Mutex
	wake chan int
}

func newUnlockedBetween() *unlockedBetween { return &unlockedBetween{wake: make(chan int, 1)} }

func (u *unlockedBetween) Poke(n int) { // want Poke:`mayBlock\(channel send`
	u.mu.Lock()
	select {
	case <-u.wake:
	default:
	}
	u.mu.Unlock()
	u.mu.Lock()
	u.wake <- n // want `channel send while u.mu may be held`
	u.mu.Unlock()
}

// emptiedGuarded is the plain shape: one sender, lock taken in place.
type emptiedGuarded struct {
	mu   sync.Mutex
	wake chan int
}

func newEmptiedGuarded() *emptiedGuarded { return &emptiedGuarded{wake: make(chan int, 1)} }

func (e *emptiedGuarded) Poke(n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.wake:
	default:
	}
	e.wake <- n
}

// unbuffered: no room to make.
type unbuffered struct {
	mu   sync.Mutex
	wake chan int
}

func newUnbuffered() *unbuffered { return &unbuffered{wake: make(chan int)} }

func (u *unbuffered) Poke(n int) { // want Poke:`mayBlock\(channel send`
	u.mu.Lock()
	defer u.mu.Unlock()
	select {
	case <-u.wake:
	default:
	}
	u.wake <- n // want `channel send while u.mu may be held`
}

// globalLock: the senders hold a package variable's lock; room is
// checked with len against cap.
var gmu sync.Mutex

type globalLock struct {
	wake chan int
}

func newGlobalLock() *globalLock { return &globalLock{wake: make(chan int, 4)} }

func (g *globalLock) Poke(n int) {
	gmu.Lock()
	defer gmu.Unlock()
	if len(g.wake) < cap(g.wake) {
		g.wake <- n
	}
}

// sideSend: a non-blocking send elsewhere, without the lock, may fill
// the room.
type sideSend struct {
	mu   sync.Mutex
	wake chan int
}

func newSideSend() *sideSend { return &sideSend{wake: make(chan int, 1)} }

func (s *sideSend) Poke(n int) { // want Poke:`mayBlock\(channel send`
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.wake:
	default:
	}
	s.wake <- n // want `channel send while s.mu may be held`
}

func (s *sideSend) Nudge() {
	select {
	case s.wake <- 0:
	default:
	}
}

// copied: a copy of the struct has the same channel and another lock.
type copied struct {
	mu   sync.Mutex
	wake chan int
}

func newCopied() *copied { return &copied{wake: make(chan int, 1)} }

func (c *copied) Poke(n int) { // want Poke:`mayBlock\(channel send`
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.wake:
	default:
	}
	c.wake <- n // want `channel send while c.mu may be held`
}

func (c *copied) Twin() *copied {
	return &copied{wake: c.wake}
}

// asValue: the sender is handed out as a func value, which anyone may
// call without the lock.
type asValue struct {
	mu   sync.Mutex
	wake chan int
}

func newAsValue() *asValue { return &asValue{wake: make(chan int, 1)} }

func (a *asValue) poke(n int) {
	select {
	case <-a.wake:
	default:
	}
	a.wake <- n
}

func (a *asValue) Poke(n int) { // want Poke:`mayBlock\(emptied.asValue.poke`
	a.mu.Lock()
	defer a.mu.Unlock()
	a.poke(n) // want `call to emptied.asValue.poke, which may block`
}

func (a *asValue) Hook() func(int) { return a.poke }

// started: the sender also runs as a goroutine, holding nothing.
type started struct {
	mu   sync.Mutex
	wake chan int
}

func newStarted() *started { return &started{wake: make(chan int, 1)} }

func (s *started) poke(n int) {
	select {
	case <-s.wake:
	default:
	}
	s.wake <- n
}

func (s *started) Poke(n int) { // want Poke:`mayBlock\(emptied.started.poke`
	s.mu.Lock()
	defer s.mu.Unlock()
	s.poke(n) // want `call to emptied.started.poke, which may block`
}

func (s *started) Later() { go s.poke(1) }

// asExpr: the sender is handed out as a method expression.
type asExpr struct {
	mu   sync.Mutex
	wake chan int
}

func newAsExpr() *asExpr { return &asExpr{wake: make(chan int, 1)} }

func (a *asExpr) poke(n int) {
	select {
	case <-a.wake:
	default:
	}
	a.wake <- n
}

func (a *asExpr) Poke(n int) { // want Poke:`mayBlock\(emptied.asExpr.poke`
	a.mu.Lock()
	defer a.mu.Unlock()
	a.poke(n) // want `call to emptied.asExpr.poke, which may block`
}

func Expr() func(*asExpr, int) { return (*asExpr).poke }

// zeroMade: the package makes a value without the channel, which is
// nil: a send into it waits for ever.
type zeroMade struct {
	mu   sync.Mutex
	wake chan int
}

func newZeroMade() *zeroMade { return &zeroMade{wake: make(chan int, 1)} }

func spare() *zeroMade { return &zeroMade{} }

func (z *zeroMade) Poke(n int) { // want Poke:`mayBlock\(channel send`
	z.mu.Lock()
	defer z.mu.Unlock()
	select {
	case <-z.wake:
	default:
	}
	z.wake <- n // want `channel send while z.mu may be held`
}

// inner: the channel's struct is held by value in another, made by new.
type inner struct {
	mu   sync.Mutex
	wake chan int
}

type outer struct {
	in inner
}

func newOuter() *outer {
	o := new(outer)
	o.in.wake = make(chan int, 1)
	return o
}

func (o *outer) Poke(n int) {
	o.in.mu.Lock()
	defer o.in.mu.Unlock()
	select {
	case <-o.in.wake:
	default:
	}
	o.in.wake <- n
}

// outers: a slice of them, made with zero values.
type inner2 struct {
	mu   sync.Mutex
	wake chan int
}

type outer2 struct {
	in inner2
}

func newOuter2() *outer2 {
	o := new(outer2)
	o.in.wake = make(chan int, 1)
	return o
}

func many(n int) []outer2 { return make([]outer2, n) }

func (o *outer2) Poke(n int) { // want Poke:`mayBlock\(channel send`
	o.in.mu.Lock()
	defer o.in.mu.Unlock()
	select {
	case <-o.in.wake:
	default:
	}
	o.in.wake <- n // want `channel send while o.in.mu may be held`
}

// maybeMade: the channel is made on one path only.
type maybeMade struct {
	mu   sync.Mutex
	wake chan int
}

func newMaybeMade(on bool) *maybeMade {
	m := &maybeMade{}
	if on {
		m.wake = make(chan int, 1)
	}
	return m
}

func (m *maybeMade) Poke(n int) { // want Poke:`mayBlock\(channel send`
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.wake:
	default:
	}
	m.wake <- n // want `channel send while m.mu may be held`
}
