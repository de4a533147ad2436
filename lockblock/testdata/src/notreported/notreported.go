// Package notreported holds what must not be reported.
package notreported

import (
	"context"
	"io"
	"sync"

	"github.com/fanin-go/fanin"
)

type T struct {
	mu    sync.Mutex
	rw    sync.RWMutex
	ch    chan int
	cond  *sync.Cond // L is &mu
	cond2 sync.Cond  // L is &rw (write side)
	n     int
}

func NewT() *T {
	t := &T{ch: make(chan int)}
	t.cond = sync.NewCond(&t.mu)
	t.cond2.L = &t.rw
	return t
}

// A select with a default case does not block.
func (t *T) trySend() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case t.ch <- 1:
		return true
	default:
		return false
	}
}

// Work started in a new goroutine does not hold the lock.
func (t *T) spawn() {
	t.mu.Lock()
	defer t.mu.Unlock()
	go func() { t.ch <- t.n }()
	go t.block()
}

func (t *T) block() { t.ch <- 1 }

// Released on every path before the operation.
func (t *T) released(x bool) {
	t.mu.Lock()
	if x {
		t.mu.Unlock()
		t.ch <- 1
		return
	}
	t.n++
	t.mu.Unlock()
	t.ch <- 2
}

// Cond.Wait on the held lock's own Cond releases it while waiting.
func (t *T) waitOwnCond() {
	t.mu.Lock()
	for t.n == 0 {
		t.cond.Wait()
	}
	t.mu.Unlock()
	t.rw.Lock()
	t.cond2.Wait()
	t.rw.Unlock()
}

func waitLocalCond(mu *sync.Mutex, ready *bool) {
	c := sync.NewCond(mu)
	mu.Lock()
	for !*ready {
		c.Wait()
	}
	mu.Unlock()
}

// Calls that cannot block.
func (t *T) nonBlocking(ctx context.Context, s *fanin.Sender[int], sink fanin.Sink[int], w io.Writer, f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_ = s.TrySend(1)
	_ = sink.TrySend(1)
	_ = s.Done()
	_ = sink.Done()
	_, _ = w.Write(nil) // another interface's method
	f()                 // a func value of unknown target
	t.count()
	close(t.ch)
}

func (t *T) count() { t.n++ }

// A failed TryLock holds nothing.
func (t *T) tryFailed() {
	if !t.mu.TryLock() {
		t.ch <- 1
		return
	}
	t.n++
	t.mu.Unlock()
	if ok := t.rw.TryLock(); !ok {
		<-t.ch
	} else {
		t.rw.Unlock()
	}
}

// An unlock helper releases the caller's lock.
func (t *T) unlock() { t.mu.Unlock() }

func (t *T) viaHelper() {
	t.mu.Lock()
	t.n++
	t.unlock()
	t.ch <- t.n
}

// A deferred unlock in a helper releases at the helper's return.
func (t *T) unlockDeferred() {
	defer t.rw.RUnlock()
	t.n++
}

func (t *T) viaDeferredHelper() {
	t.rw.RLock()
	t.unlockDeferred()
	<-t.ch
}

// A lock helper is matched by the caller's unlock.
func (t *T) lock() { t.mu.Lock() }

func (t *T) viaLockHelper() {
	t.lock()
	t.n++
	t.mu.Unlock()
	t.ch <- 1
}

// A silenced operation, with a reason.
func (t *T) silenced(reply chan int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	reply <- 1 //lockblock:ignore reply was made with room for exactly this one value
	//lockblock:ignore the caller made done with room for one value
	t.ch <- 2
}

// A helper whose unlock is deferred leaves nothing held: the limiter's
// allow takes its token under the lock and returns.
func (t *T) allow() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	return t.n >= 0
}

func (t *T) afterDeferredHelper() {
	if t.allow() {
		t.ch <- 1
	}
}

// A deferred call of an unlock helper releases at return too.
func (t *T) deferredUnlockHelper() int {
	t.mu.Lock()
	defer t.unlock()
	return t.n
}

func (t *T) afterDeferredUnlockHelper() {
	_ = t.deferredUnlockHelper()
	<-t.ch
}

// A helper that unlocks before it blocks does not block under the
// caller's lock.
func (t *T) publishAndUnlock() {
	n := t.n
	t.mu.Unlock()
	t.ch <- n
}

func (t *T) callsAndUnlock() {
	t.mu.Lock()
	t.n++
	t.publishAndUnlock()
}

// Sends into a channel that no other goroutine can reach yet cannot wait
// for one.
type sem struct{ tokens chan struct{} }

func (t *T) newSem(n int) *sem {
	t.mu.Lock()
	defer t.mu.Unlock()
	ch := make(chan struct{}, n)
	for range n {
		ch <- struct{}{}
	}
	s := &sem{}
	s.tokens = make(chan struct{}, n)
	for range n {
		s.tokens <- struct{}{}
	}
	return &sem{tokens: ch}
}

type future struct {
	done chan int
	v    int
}

func (t *T) wait(f *future) <-chan int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if f.done == nil {
		f.done = make(chan int, 1)
		if f.v != 0 {
			f.done <- f.v
		}
	}
	return f.done
}

// A helper that lets go of its caller's lock while it waits, and takes it
// back, does not wait under it.
func (t *T) waitUnlocked() {
	t.mu.Unlock()
	<-t.ch
	t.mu.Lock()
}

func (t *T) viaWaitUnlocked() {
	t.mu.Lock()
	t.waitUnlocked()
	t.n++
	t.mu.Unlock()
}

// A Cond locked through its own L, whatever lock that is.
func waitOnL(c *sync.Cond, ready *bool) {
	c.L.Lock()
	for !*ready {
		c.Wait()
	}
	c.L.Unlock()
}

// A helper that waits on the Cond of the lock its caller holds.
func (t *T) waitLocked() {
	for t.n == 0 {
		t.cond.Wait()
	}
}

func (t *T) viaWaitLocked() {
	t.mu.Lock()
	t.waitLocked()
	t.mu.Unlock()
}

// A deferred wait whose lock is released before the function returns.
func (t *T) deferredWaitAfterUnlock(wg *sync.WaitGroup) {
	t.mu.Lock()
	defer wg.Wait()
	t.n++
	t.mu.Unlock()
}

// A deferred func literal that unlocks before it waits.
func (t *T) deferredUnlockThenWait(wg *sync.WaitGroup) {
	t.mu.Lock()
	defer func() {
		t.mu.Unlock()
		wg.Wait()
	}()
	t.n++
}

// A TryLock helper with two results: the caller holds the lock where ok.
func (t *T) tryGet() (int, bool) {
	if !t.mu.TryLock() {
		return 0, false
	}
	return t.n, true
}

func (t *T) viaTryGet() {
	n, ok := t.tryGet()
	if !ok {
		t.ch <- n
		return
	}
	t.mu.Unlock()
}
