package attackrelease3

import "sync"

type B4 struct {
	sync.Mutex
	ch chan int
}

func b4Unlock(l sync.Locker) { l.Unlock() }

func b4LetGo(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

// c's embedded Mutex, released through c as a sync.Locker.
func (c *B4) forGood() {
	c.Lock()
	b4Unlock(c)
	<-c.ch
}

func (c *B4) local() {
	var l sync.Locker = c
	c.Lock()
	l.Unlock()
	<-c.ch
}

func (c *B4) letGo() {
	c.Lock()
	b4LetGo(c, c.ch)
	c.Unlock()
}
