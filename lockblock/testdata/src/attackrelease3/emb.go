package attackrelease3

import "sync"

type EB struct {
	sync.Mutex
	ch chan int
}

func unlockLk(l sync.Locker) { l.Unlock() }
func lockLk(l sync.Locker)   { l.Lock() }

func (c *EB) forGood() {
	c.Lock()
	unlockLk(c)
	<-c.ch // quiet: released through the Locker
}

func (c *EB) local() {
	var l sync.Locker = c
	c.Lock()
	l.Unlock()
	<-c.ch // quiet
}

func (c *EB) takeVia() {
	lockLk(c)
	<-c.ch // want `channel receive while .* may be held`
	c.Unlock()
}

func (c *EB) takeViaLocal() {
	var l sync.Locker = c
	l.Lock()
	<-c.ch // want `channel receive while .* may be held`
	c.Unlock()
}
