package attackrelease2

import "sync"

type RT struct {
	mu sync.RWMutex
	ch chan int
}

func (r *RT) rlockTwo() {
	r.mu.RLock()
	r.mu.RLock()
}

func (r *RT) useRlockTwo() {
	r.rlockTwo()
	r.mu.RUnlock()
	<-r.ch // want `channel receive while r.mu may be held`
	r.mu.RUnlock()
}

func (r *RT) letGoTakeTwo() {
	r.mu.RUnlock()
	<-r.ch
	r.mu.RLock()
	r.mu.RLock()
}

func (r *RT) useLetGoTakeTwo() {
	r.mu.RLock()
	r.letGoTakeTwo()
	r.mu.RUnlock()
	<-r.ch // want `channel receive while r.mu may be held`
	r.mu.RUnlock()
}
func (r *RT) twiceLocal() {
	r.mu.RLock()
	r.mu.RLock()
	r.mu.RUnlock()
	<-r.ch // want `channel receive while r.mu may be held`
	r.mu.RUnlock()
}
