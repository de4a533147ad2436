// Package chain is checked with -chain (TestChainFlag): messages show the
// whole chain of calls, not only the operation at its end.
package chain

import "sync"

type T struct {
	mu sync.Mutex
	ch chan int
}

func (t *T) a() { t.b() }
func (t *T) b() { t.c() }
func (t *T) c() { t.d() }
func (t *T) d() { t.ch <- 1 }

func (t *T) locked() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.a() // want `^call to chain\.T\.a, which may block \(chain\.T\.b → chain\.T\.c → chain\.T\.d → channel send at chain\.go:15\) while t\.mu may be held`
}
