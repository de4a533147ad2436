package attackrelease

import "sync"

// rot locks whichever of a..f n rotations of its arguments bring to a, and
// leaves it held for its caller: it may leave any of the six held.
func rot(a, b, c, d, e, f *sync.Mutex, n int) {
	if n == 0 {
		a.Lock()
		return
	}
	rot(b, c, d, e, f, a, n-1)
}

var x, mu sync.Mutex
var ch = make(chan int)

// useRot: rot(x, x, x, x, x, mu, 5) locks mu (f after five rotations) and
// never x; the caller lets its own x go and waits holding mu.
func useRot() {
	x.Lock()
	rot(&x, &x, &x, &x, &x, &mu, 5)
	x.Unlock()
	<-ch // want `channel receive while mu may be held`
	mu.Unlock()
}

// rot5 is the same with five: there the rounds settle, and it is reported.
func rot5(a, b, c, d, e *sync.Mutex, n int) {
	if n == 0 {
		a.Lock()
		return
	}
	rot5(b, c, d, e, a, n-1)
}

func useRot5() {
	x.Lock()
	rot5(&x, &x, &x, &x, &mu, 4)
	x.Unlock()
	<-ch // want `channel receive while mu may be held`
	mu.Unlock()
}
