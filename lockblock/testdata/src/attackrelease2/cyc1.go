package attackrelease2

import "sync"

type A struct {
	mu sync.Mutex
	ch chan int
	n  int
	c  bool
}

// f: either lets go around a wait, or calls g, which calls f and then
// waits holding the caller's lock.
func (a *A) f() {
	if a.c {
		a.g()
		return
	}
	a.mu.Unlock()
	<-a.ch
	a.mu.Lock()
}

func (a *A) g() {
	a.f()
	<-a.ch // the caller's a.mu is held here: reported at the calls of f and g
}

func (a *A) useF() {
	a.mu.Lock()
	a.f() // want `call to attackrelease2.A.f, which may block \(channel receive at cyc1.go:26\) while a.mu may be held`
	a.mu.Unlock()
}

func (a *A) useG() {
	a.mu.Lock()
	a.g() // want `call to attackrelease2.A.g, which may block \(channel receive at cyc1.go:26\) while a.mu may be held`
	a.mu.Unlock()
}

// rotation: f2 lets go a around the wait, then calls itself with a and b
// swapped: the inner call lets go b and waits holding a.
func rotf(a, b *sync.Mutex, ch chan int, n int) {
	a.Unlock()
	<-ch
	a.Lock()
	if n > 0 {
		rotf(b, a, ch, n-1) // want `call to attackrelease2.rotf, which may block \(channel receive at cyc1.go:45\) while a may be held`
	}
}

var x, y sync.Mutex

func useRotf(ch chan int) {
	x.Lock()
	y.Lock()
	rotf(&x, &y, ch, 1) // want `call to attackrelease2.rotf, which may block .* while (x|y) .*may be held`
	y.Unlock()
	x.Unlock()
}
