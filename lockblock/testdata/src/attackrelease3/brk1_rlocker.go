package attackrelease3

import "sync"

type B1 struct {
	mu sync.RWMutex
	ch chan int
}

// b1LetGo lets its Locker go around the wait and takes it back.
func b1LetGo(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

// Two read locks held; the helper lets one go: the other is held at the wait.
func (r *B1) two() {
	r.mu.RLock()
	r.mu.RLock()
	b1LetGo(r.mu.RLocker(), r.ch) // want `call to attackrelease3.b1LetGo, which may block \(channel receive at brk1_rlocker.go:13\) while r.mu may be held`
	r.mu.RUnlock()
	r.mu.RUnlock()
}
