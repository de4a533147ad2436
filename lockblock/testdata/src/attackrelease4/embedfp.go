package attackrelease4

import "sync"

func fpLetGo(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

func fpUnlock(l sync.Locker) { l.Unlock() }

// embeds *sync.Mutex
type FP struct {
	*sync.Mutex
	ch chan int
}

func (c *FP) letGo() {
	c.Lock()
	fpLetGo(c, c.ch) // quiet: c's Mutex is let go around the wait
	c.Unlock()
}

func (c *FP) release() {
	c.Lock()
	fpUnlock(c)
	<-c.ch // quiet: released through the Locker
}

// embeds a struct that embeds sync.Mutex
type FIn struct{ sync.Mutex }
type FN struct {
	FIn
	ch chan int
}

func (c *FN) letGo() {
	c.Lock()
	fpLetGo(c, c.ch) // quiet
	c.Unlock()
}

func (c *FN) release() {
	c.Lock()
	fpUnlock(c)
	<-c.ch // quiet
}
