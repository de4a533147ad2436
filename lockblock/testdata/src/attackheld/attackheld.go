// Package attackheld checks control flow the analysis must follow.
package attackheld

import (
	"sync"
	"time"
)

var mu, mu2 sync.Mutex
var rw sync.RWMutex

func labeled(ch chan int, xs []int) {
	mu.Lock()
outer:
	for _, x := range xs {
		for {
			if x > 0 {
				break outer
			}
			mu.Unlock()
			break
		}
		mu.Lock()
	}
	<-ch // want `channel receive while mu may be held`
	mu.Unlock()
}

func gotoRelease(ch chan int, x bool) {
	mu.Lock()
	if x {
		goto out
	}
	mu.Unlock()
	<-ch
	return
out:
	mu.Unlock()
	<-ch
}

func gotoHeld(ch chan int, x bool) {
	mu.Lock()
	if x {
		goto send
	}
	mu.Unlock()
send:
	ch <- 1 // want `channel send while mu may be held`
}

func readThenOther(ch chan int) {
	rw.RLock()
	mu2.Lock()
	mu2.Unlock()
	ch <- 1 // want `channel send while rw may be held \(read-locked at attackheld.go:\d+\)`
	rw.RUnlock()
}

func deferInLoop(chs []chan int) {
	for range chs {
		mu.Lock()
		defer mu.Unlock()
	}
	time.Sleep(1) // want `call to time.Sleep, which sleeps while mu may be held`
}

func switchRelease(a, b, c chan int, x int) {
	mu.Lock()
	switch x {
	case 1:
		mu.Unlock()
	case 2:
		mu.Unlock()
	default:
		mu.Unlock()
	}
	select {
	case <-a:
	case b <- 1:
	case c <- 2:
	}
}

func spin() {
	for !mu.TryLock() {
		time.Sleep(time.Millisecond)
	}
	mu.Unlock()
}

func selectDefault(ch chan int) {
	mu.Lock()
	defer mu.Unlock()
	select {
	case <-time.After(time.Second):
	default:
	}
	select {
	case ch <- 1:
	default:
	}
}

func goUnder(ch chan int, wg *sync.WaitGroup) {
	mu.Lock()
	defer mu.Unlock()
	go func() { ch <- 1 }()
	wg.Go(func() { <-ch })
	time.AfterFunc(time.Second, func() { ch <- 1 })
}

func goArgUnder(ch chan int, f func(int)) {
	mu.Lock()
	defer mu.Unlock()
	go f(<-ch) // want `channel receive while mu may be held`
}

type inner struct {
	sync.RWMutex
	ch chan int
}

type outer struct{ *inner }

func (o outer) embeddedPtr() {
	o.RLock()
	<-o.ch // want `channel receive while o.inner.RWMutex may be held`
	o.RUnlock()
}

type arr struct {
	locks [4]sync.Mutex
	m     map[string]*sync.Mutex
}

func (a *arr) elems(ch chan int, k string) {
	a.locks[1].Lock()
	ch <- 1 // want `channel send while a.locks\[1\] may be held`
	a.locks[1].Unlock()
	a.m[k].Lock()
	ch <- 2 // want `channel send while a.m\[...\] may be held`
	a.m[k].Unlock()
	<-ch
}

func unlockParam(m *sync.Mutex) { m.Unlock() }

func useUnlockParam(ch chan int) {
	mu.Lock()
	unlockParam(&mu)
	<-ch
}

func closureUnlock(ch chan int) {
	mu.Lock()
	release := func() { mu.Unlock() }
	release()
	<-ch
}

func closureSync(ch chan int) {
	send := func() { ch <- 1 }
	mu.Lock()
	send() // want `call to the func literal at attackheld.go:\d+, which may block \(channel send at attackheld.go:\d+\) while mu may be held`
	mu.Unlock()
	func() { <-ch }()
}

func closureDeferredUnlock(ch chan int) {
	func() {
		mu.Lock()
		defer mu.Unlock()
	}()
	<-ch
}

func structCopy(s arr, ch chan int) {
	s.locks[0].Lock()
	<-ch // want `channel receive while s.locks\[0\] may be held`
	s.locks[0].Unlock()
}

func mutexValueLock(ch chan int) {
	lock := mu.Lock
	lock()
	<-ch // want `channel receive while mu may be held`
	unlock := mu.Unlock
	unlock()
	<-ch
}

func panicPath(ch chan int, bad bool) {
	mu.Lock()
	if bad {
		mu.Unlock()
		panic("bad")
	}
	mu.Unlock()
	<-ch
}

func local(ch chan int) {
	var m sync.Mutex
	m.Lock()
	<-ch // want `channel receive while m may be held`
	m.Unlock()
}

type gen[T any] struct {
	mu sync.RWMutex
	ch chan T
}

func (g *gen[T]) put(v T) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	g.ch <- v // want `channel send while g.mu may be held \(read-locked at attackheld.go:\d+\): copy what you need out of the lock and unlock it before the send`
}

func (g *gen[T]) take() T { return <-g.ch }

func useGenMethodValue(g *gen[string]) {
	mu.Lock()
	f := g.take
	f() // want `call to attackheld.gen.take, which may block`
	mu.Unlock()
}
