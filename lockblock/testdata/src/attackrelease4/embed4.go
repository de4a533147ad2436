package attackrelease4

import "sync"

type S1 struct {
	sync.Mutex
	ch chan int
}

func s1Lock(l sync.Locker) { l.Lock() }

func (c *S1) takeThenRelease() {
	s1Lock(c)
	c.Unlock()
	<-c.ch
}
