package attackrelease4

import "sync"

type MIn struct{ sync.Mutex }
type MOut struct {
	MIn
	ch chan int
}

func (c *MOut) takeThenRelease() {
	m3Lock(c)
	c.Unlock()
	<-c.ch
}

func (c *MOut) takeThenReleaseLocal() {
	var l sync.Locker = c
	l.Lock()
	c.Unlock()
	<-c.ch
}

func m3Lock(l sync.Locker) { l.Lock() }
