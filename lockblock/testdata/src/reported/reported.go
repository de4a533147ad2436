// Package reported holds each operation that blocks while a lock may be
// held.
package reported

import (
	"context"
	"sync"
	"time"

	"github.com/fanin-go/fanin"
)

type T struct {
	mu    sync.Mutex
	rw    sync.RWMutex
	ch    chan int
	wg    sync.WaitGroup
	cond  *sync.Cond // its L is other
	other sync.Mutex
}

func (t *T) send() {
	t.mu.Lock()
	t.ch <- 1 // want `^channel send while t\.mu may be held \(locked at reported\.go:23\)`
	t.mu.Unlock()
}

func (t *T) receive() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return <-t.ch // want `^channel receive while t\.mu may be held \(locked at reported\.go:29\): copy what you need out of the lock and unlock it before the receive$`
}

func (t *T) receiveCommaOk() bool {
	t.rw.Lock()
	_, ok := <-t.ch // want `^channel receive while t\.rw may be held \(locked at reported\.go:35\)`
	t.rw.Unlock()
	return ok
}

func (t *T) rangeOver() (n int) {
	t.rw.RLock()
	defer t.rw.RUnlock()
	for v := range t.ch { // want `^range over a channel while t\.rw may be held \(read-locked at reported\.go:42\): copy what you need out of the lock and unlock it before the loop$`
		n += v
	}
	return n
}

func (t *T) selectNoDefault(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	select { // want `^select without a default case while t\.mu may be held \(locked at reported\.go:51\)`
	case t.ch <- 1:
	case <-ctx.Done():
	}
}

func (t *T) waitGroup() {
	t.mu.Lock()
	t.wg.Wait() // want `^call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while t\.mu may be held`
	t.mu.Unlock()
}

func (t *T) sleep() {
	t.mu.Lock()
	time.Sleep(time.Second) // want `^call to time\.Sleep, which sleeps while t\.mu may be held`
	t.mu.Unlock()
}

func NewT() *T {
	t := &T{ch: make(chan int)}
	t.cond = sync.NewCond(&t.other)
	return t
}

// condOther waits on a Cond whose lock is not the one held: Wait releases
// t.other, not t.mu.
func (t *T) condOther() {
	t.mu.Lock()
	t.other.Lock()
	t.cond.Wait() // want `^call to sync\.Cond\.Wait, which releases only the Cond's own lock while it waits while t\.mu may be held \(locked at reported\.go:80\)`
	t.other.Unlock()
	t.mu.Unlock()
}

// condLocal: the Cond's lock is a, the held lock is b.
func condLocal(a, b *sync.Mutex) {
	c := sync.NewCond(a)
	b.Lock()
	c.Wait() // want `^call to sync\.Cond\.Wait, .* while b may be held`
	b.Unlock()
}

// Embedded mutexes and package variables.

type E struct {
	sync.Mutex
	ch chan int
}

func (e *E) send() {
	e.Lock()
	defer e.Unlock()
	e.ch <- 1 // want `^channel send while e\.Mutex may be held \(locked at reported\.go:103\)`
}

type ER struct {
	*sync.RWMutex
	ch chan int
}

func (e ER) recv() int {
	e.RLock()
	defer e.RUnlock()
	return <-e.ch // want `^channel receive while e\.RWMutex may be held \(read-locked at reported\.go:114\)`
}

var (
	gmu sync.Mutex
	gch = make(chan int)
)

func global() {
	gmu.Lock()
	gch <- 1 // want `^channel send while gmu may be held \(locked at reported\.go:125\)`
	gmu.Unlock()
}

func local(ch chan int) {
	var mu sync.Mutex
	mu.Lock()
	go func() {
		mu.Lock()
		defer mu.Unlock()
		ch <- 1 // want `^channel send while mu may be held`
	}()
	<-ch // want `^channel receive while mu may be held \(locked at reported\.go:132\)`
	mu.Unlock()
}

// A successful TryLock holds the lock on the branch where it returned
// true.
func (t *T) tryLock() {
	if t.mu.TryLock() {
		t.ch <- 1 // want `^channel send while t\.mu may be held \(locked at reported\.go:145\)`
		t.mu.Unlock()
	}
	if !t.rw.TryRLock() {
		return
	}
	defer t.rw.RUnlock()
	<-t.ch // want `^channel receive while t\.rw may be held \(read-locked at reported\.go:149\)`
}

// A lock released on one path but not on another may be held.
func (t *T) onePath(x bool) {
	t.mu.Lock()
	if x {
		t.mu.Unlock()
	}
	t.ch <- 1 // want `^channel send while t\.mu may be held \(locked at reported\.go:158\)`
	if !x {
		t.mu.Unlock()
	}
}

// Two locks are both named.
func (t *T) twoLocks() {
	t.mu.Lock()
	t.rw.RLock()
	t.ch <- 1 // want `^channel send while t\.mu \(locked at reported\.go:170\) and t\.rw \(read-locked at reported\.go:171\) may be held: `
	t.rw.RUnlock()
	t.mu.Unlock()
}

// A deferred unlock holds the lock until return.
func (t *T) deferred() {
	t.mu.Lock()
	defer func() { t.mu.Unlock() }()
	t.ch <- 1 // want `^channel send while t\.mu may be held`
}

// Calls of functions of the same package that block.

func (t *T) flushLocked() { t.ch <- 0 }

func (t *T) helperThatFlushes() { t.flushLocked() }

func (t *T) callsBlocking() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.helperThatFlushes() // want `^call to reported\.T\.helperThatFlushes, which may block \(channel send at reported\.go:186\) while t\.mu may be held`
}

// Recursion does not stop the summary.
func ping(n int, ch chan int) {
	if n == 0 {
		ch <- 1
		return
	}
	pong(n-1, ch)
}

func pong(n int, ch chan int) { ping(n, ch) }

func (t *T) recursive() {
	t.mu.Lock()
	pong(3, t.ch) // want `^call to reported\.pong, which may block \(channel send at reported\.go:199\)`
	t.mu.Unlock()
}

// fanin's blocking API, one call each.
func (t *T) fanin(ctx context.Context, c *fanin.Channel[int], s *fanin.Sender[int], sink fanin.Sink[int], l *fanin.Limiter,
	g *fanin.Group[int], st *fanin.Stream[int], p *fanin.Pending[int]) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.Send(ctx, 1)                          // want `call to fanin\.Channel\.Send, which waits for room in the stream while t\.mu`
	s.Send(ctx, 1)                          // want `call to fanin\.Sender\.Send, which waits for room in the stream while t\.mu`
	sink.Send(ctx, 1)                       // want `call to fanin\.Sink\.Send, which waits for room in the sink while t\.mu`
	l.Wait(ctx)                             // want `call to fanin\.Limiter\.Wait, which waits for a token while t\.mu`
	c.Shutdown(ctx)                         // want `call to fanin\.Channel\.Shutdown, which waits for the sends in flight while t\.mu`
	g.Run(ctx)                              // want `call to fanin\.Group\.Run, which runs until the group is shut down while t\.mu`
	g.Shutdown(ctx)                         // want `call to fanin\.Group\.Shutdown, which waits for every adapter to return while t\.mu`
	g.Remove(ctx, "a")                      // want `call to fanin\.Group\.Remove, which waits for the adapter to return while t\.mu`
	g.Replace(ctx, nil)                     // want `call to fanin\.Group\.Replace, which waits for the old adapter to return while t\.mu`
	st.Recv(ctx)                            // want `call to fanin\.Stream\.Recv, which waits for a value while t\.mu`
	p.Request(ctx, nil)                     // want `call to fanin\.Pending\.Request, which waits for the reply while t\.mu`
	fanin.SendBatch(ctx, s, l, []int{1}, 0) // want `call to fanin\.SendBatch, which waits for tokens and for room in the stream while t\.mu`
}

// An unlock deferred on one path only may leave the lock held at return,
// so the helper's caller may hold it.
func (t *T) lockMaybeDeferred(x bool) {
	t.mu.Lock()
	if x {
		defer t.mu.Unlock()
	}
}

func (t *T) afterMaybeDeferred(x bool) {
	t.lockMaybeDeferred(x)
	t.ch <- 1 // want `^channel send while t\.mu may be held \(locked at reported\.go:\d+\)`
}

// With a constant argument, only the branch it takes counts: true defers
// the unlock, false keeps the lock.
func (t *T) afterDeferredConst() {
	t.lockMaybeDeferred(true)
	t.ch <- 1
	t.lockMaybeDeferred(false)
	t.ch <- 2 // want `^channel send while t\.mu may be held \(locked at reported\.go:\d+\)`
}

// A helper that blocks before it unlocks blocks under the caller's lock.
func (t *T) sendAndUnlock() {
	t.ch <- 1
	t.mu.Unlock()
}

func (t *T) callsSendAndUnlock() {
	t.mu.Lock()
	t.sendAndUnlock() // want `^call to reported\.T\.sendAndUnlock, which may block \(channel send at reported\.go:\d+\) while t\.mu may be held`
}

// Once the channel is reachable by another goroutine, or a field may
// hold an older channel, a send may wait.
type future struct {
	done chan int
	v    int
}

func (t *T) escaped(f *future, out chan chan int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := make(chan int, 1)
	out <- ch // want `^channel send while t\.mu may be held`
	ch <- 1   // want `^channel send while t\.mu may be held`
	if f.done != nil {
		f.done <- f.v // want `^channel send while t\.mu may be held`
	}
	f.done = make(chan int, 1)
	t.flushLocked() // want `^call to reported\.T\.flushLocked`
	f.done <- f.v   // want `^channel send while t\.mu may be held`
}

// A TryLock helper that says true where it took the lock: its caller holds
// the lock on that branch only.
func (t *T) tryTake() bool {
	if t.mu.TryLock() {
		return true
	}
	return false
}

func (t *T) viaTryTake() {
	if !t.tryTake() {
		<-t.ch
		return
	}
	t.ch <- 1 // want `^channel send while t\.mu may be held \(locked at reported\.go:\d+\)`
	t.mu.Unlock()
}

// A TryLock result tested as ok == false.
func (t *T) tryCompare() {
	ok := t.mu.TryLock()
	if ok == false {
		<-t.ch
		return
	}
	<-t.ch // want `^channel receive while t\.mu may be held`
	t.mu.Unlock()
}

// After such a helper the caller holds its lock again.
func (t *T) relock() {
	t.mu.Unlock()
	<-t.ch
	t.mu.Lock()
}

func (t *T) afterRelock() {
	t.mu.Lock()
	t.relock()
	t.ch <- 1 // want `^channel send while t\.mu may be held \(locked at reported\.go:\d+\)`
	t.mu.Unlock()
}

// Read locks nest: after two RLocks and one RUnlock, one is still held.
func (t *T) nestedRead() {
	t.rw.RLock()
	t.rw.RLock()
	t.rw.RUnlock()
	<-t.ch // want `^channel receive while t\.rw may be held \(read-locked at reported\.go:\d+\)`
	t.rw.RUnlock()
	<-t.ch
}

// A lock reached through a sync.Locker.
func locker(l sync.Locker, ch chan int) {
	l.Lock()
	ch <- 1 // want `^channel send while l may be held`
	l.Unlock()
	ch <- 2
}

// A deferred wait registered in a loop, reported once.
func (t *T) deferredInLoop(wgs []*sync.WaitGroup) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, wg := range wgs {
		defer wg.Wait() // want `^call to sync\.WaitGroup\.Wait, which waits for the WaitGroup while t\.mu may be held`
	}
}

// waiters embeds its WaitGroup: the message names the method by the type
// it is called on.
type waiters struct {
	sync.Mutex
	sync.WaitGroup
}

func (w *waiters) close() {
	w.Lock()
	defer w.Unlock()
	w.Wait() // want `^call to reported\.waiters\.Wait, which waits for the WaitGroup while w\.Mutex may be held`
}
