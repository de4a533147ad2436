package dg_methodvalue

import "sync"

type s struct {
	mu sync.Mutex
	wg sync.WaitGroup
	n  int
}

func (x *s) run() {
	// runs after the guarded unlock, which skips: mu held
	defer x.wg.Wait() // want `call to sync\.WaitGroup\.Wait, which waits for the WaitGroup`
	x.mu.Lock()
	unlocked := false
	defer func() {
		if !unlocked {
			x.mu.Unlock()
		}
	}()
	x.n++
	x.mu.Unlock()
	unlocked = true
	relock := x.mu.Lock
	relock()
	x.n++
}
