package attackrelease

import "sync"

type C struct {
	mu    sync.Mutex
	other sync.Mutex
	peer  *C
	ch    chan int
	n     int
}

// deferredWait lets c.mu go and takes it back, then its deferred closure
// (which captures c) waits: with c.mu held again.
func (c *C) deferredWait() {
	defer func() { <-c.ch }() // want `call to the func literal at cell.go:16, which may block \(channel receive at cell.go:16\) while c.mu may be held`
	c.mu.Unlock()
	c.n++
	c.mu.Lock()
}

func (c *C) useDeferredWait() {
	c.mu.Lock()
	c.deferredWait() // want `call to attackrelease.C.deferredWait, which may block \(channel receive at cell.go:16\) while c.mu may be held`
	c.mu.Unlock()
}

// waitThenLetGo waits before it lets go (the closure makes c a cell).
func (c *C) waitThenLetGo() {
	defer func() { c.n++ }()
	<-c.ch
	c.mu.Unlock()
	c.mu.Lock()
}

func (c *C) useWaitThenLetGo() {
	c.mu.Lock()
	c.waitThenLetGo() // want `call to attackrelease.C.waitThenLetGo, which may block \(channel receive at cell.go:31\) while c.mu may be held`
	c.mu.Unlock()
}

// relockByClosure: the closure takes c.mu back before the wait.
func (c *C) relockByClosure() {
	relock := func() { c.mu.Lock() }
	c.mu.Unlock()
	relock()
	<-c.ch // want `channel receive while c.mu may be held`
}

func (c *C) useRelockByClosure() {
	c.mu.Lock()
	c.relockByClosure() // want `call to attackrelease.C.relockByClosure, which may block \(channel receive at cell.go:47\) while c.mu may be held`
	c.mu.Unlock()
}

// peerLetGo lets go of c.peer.mu around the wait, through the cell.
func (c *C) peerLetGo() {
	defer func() { c.n++ }()
	c.peer.mu.Unlock()
	<-c.ch
	c.peer.mu.Lock()
}

func (c *C) usePeerLetGo() {
	c.mu.Lock()
	c.peer.mu.Lock()
	c.peerLetGo() // want `call to attackrelease.C.peerLetGo, which may block \(channel receive at cell.go:60\) while c.mu may be held`
	c.peer.mu.Unlock()
	c.mu.Unlock()
}

// otherLetGo lets go of c.other, not c.mu.
func (c *C) otherLetGo() {
	defer func() { c.n++ }()
	c.other.Unlock()
	<-c.ch
	c.other.Lock()
}

func (c *C) useOtherLetGo() {
	c.mu.Lock()
	c.other.Lock()
	c.otherLetGo() // want `call to attackrelease.C.otherLetGo, which may block \(channel receive at cell.go:76\) while c.mu may be held`
	c.other.Unlock()
	c.mu.Unlock()
}
