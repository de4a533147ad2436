package attackrelease2

import "sync"

var am sync.Mutex

// letGoBoth lets a go around the first wait and b around the second.
func letGoBoth(a, b *sync.Mutex, ch chan int) {
	a.Unlock()
	<-ch
	a.Lock()
	b.Unlock()
	<-ch // want `channel receive while a may be held`
	b.Lock()
}

// The same lock passed for both: each wait runs with it let go.
func useLetGoBothSame(ch chan int) {
	am.Lock()
	// A known false positive ("What it cannot see"): a helper's effects
	// are per parameter, and the same lock passed for two is not merged.
	letGoBoth(&am, &am, ch) // want `call to attackrelease2.letGoBoth, which may block \(channel receive at alias.go:10\) while am may be held`
	am.Unlock()
}

// rotf lets a go around the wait, then calls itself with a and b swapped.
func rotf2(a, b *sync.Mutex, ch chan int, n int) {
	a.Unlock()
	<-ch
	a.Lock()
	if n > 0 {
		rotf2(b, a, ch, n-1) // want `call to attackrelease2.rotf2, which may block \(channel receive at alias.go:29\) while a may be held`
	}
}

func useRotfSame(ch chan int) {
	am.Lock()
	// The same known false positive.
	rotf2(&am, &am, ch, 1) // want `call to attackrelease2.rotf2, which may block \(channel receive at alias.go:\d+\) while am may be held`
	am.Unlock()
}
