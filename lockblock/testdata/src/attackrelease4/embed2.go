package attackrelease4

import "sync"

func emLock(l sync.Locker)   { l.Lock() }
func emUnlock(l sync.Locker) { l.Unlock() }

type NIn struct{ sync.Mutex }
type NOut struct {
	NIn
	ch chan int
}

type NP struct {
	*sync.Mutex
	ch chan int
}

func (c *NOut) takeVia() {
	emLock(c)
	<-c.ch // want `channel receive while .* may be held`
	c.Unlock()
}

func (c *NOut) takeViaLocal() {
	var l sync.Locker = c
	l.Lock()
	<-c.ch // want `channel receive while .* may be held`
	c.Unlock()
}

func (c *NOut) releaseVia() {
	c.Lock()
	emUnlock(c)
	<-c.ch
}

func (c *NP) takeVia() {
	emLock(c)
	<-c.ch // want `channel receive while .* may be held`
	c.Unlock()
}

func (c *NP) takeViaLocal() {
	var l sync.Locker = c
	l.Lock()
	<-c.ch // want `channel receive while .* may be held`
	c.Unlock()
}

func (c *NP) releaseVia() {
	c.Lock()
	emUnlock(c)
	<-c.ch
}
