package attackrelease2

import "sync"

type TW struct {
	a, b sync.Mutex
	ch   chan int
	ack  chan int
}

// flush is called with t.b held: it lets t.b go around the send and waits
// for the ack holding it again.
func (t *TW) flush() {
	t.b.Unlock()
	t.ch <- 1
	t.b.Lock()
	<-t.ack // want `channel receive while t.b may be held \(locked at twolocks.go:16\)`
}

func (t *TW) useB() {
	t.b.Lock()
	t.flush() // want `call to attackrelease2.TW.flush, which may block \(channel receive at twolocks.go:17\) while t.b may be held`
	t.b.Unlock()
}

// With t.a held too, the send runs holding t.a only, the receive both.
func (t *TW) useAB() {
	t.a.Lock()
	t.b.Lock()
	t.flush() // want `call to attackrelease2.TW.flush, which may block \(channel receive at twolocks.go:17\) while t.a .* and t.b`
	t.b.Unlock()
	t.a.Unlock()
}
