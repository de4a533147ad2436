package attackrelease3

import (
	"iter"
	"sync"
)

type SH struct {
	sync.Mutex
	ch    chan int
	once  sync.Once
	items iter.Seq[int]
}

func (c *SH) letGo() {
	c.Unlock()
	<-c.ch
	c.Lock()
}

func (c *SH) useEmbedded() {
	c.Lock()
	c.letGo()
	c.Unlock()
}

func (c *SH) useOnce() {
	c.Lock()
	c.once.Do(c.letGo)
	c.Unlock()
}

func (c *SH) useRange() {
	c.Lock()
	for range c.items {
		c.letGo()
	}
	c.Unlock()
}

func letGoG[L sync.Locker](l L, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

func (c *SH) useGeneric() {
	c.Lock()
	letGoG(c, c.ch)
	c.Unlock()
}

var gmu sync.Mutex

func letGoPkg(ch chan int) {
	gmu.Unlock()
	<-ch
	gmu.Lock()
}

func (c *SH) usePkg() {
	gmu.Lock()
	letGoPkg(c.ch)
	gmu.Unlock()
}

func (c *SH) useGoroutineWrap() {
	c.Lock()
	f := func() { c.letGo() }
	f()
	c.Unlock()
}
