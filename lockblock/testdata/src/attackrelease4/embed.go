package attackrelease4

import "sync"

func emLetGo(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

type EP struct {
	*sync.Mutex
	ch chan int
}

func (c *EP) usePtr() { // quiet
	c.Lock()
	emLetGo(c, c.ch)
	c.Unlock()
}

type EIn struct{ sync.Mutex }
type EOut struct {
	EIn
	ch chan int
}

func (c *EOut) useNested() { // quiet
	c.Lock()
	emLetGo(c, c.ch)
	c.Unlock()
}

func (c *EOut) useNestedOther(d *EOut) {
	c.Lock()
	d.Lock()
	emLetGo(d, c.ch) // want `call to attackrelease4.emLetGo, which may block`
	d.Unlock()
	c.Unlock()
}

type ERW struct {
	sync.RWMutex
	ch chan int
}

// Locker of a struct embedding RWMutex is the write lock.
func (c *ERW) useRW() { // quiet
	c.Lock()
	emLetGo(c, c.ch)
	c.Unlock()
}

// read lock held twice, one let go through RLocker: one held.
func (c *ERW) useRWRead() {
	c.RLock()
	c.RLock()
	emLetGo(c.RLocker(), c.ch) // want `call to attackrelease4.emLetGo, which may block`
	c.RUnlock()
	c.RUnlock()
}

// Two embedded at different depths: the shallower (sync.Mutex) is the Locker.
type EDeep struct{ sync.RWMutex }
type ETwo struct {
	sync.Mutex
	EDeep
	ch chan int
}

func (c *ETwo) useTwo() {
	c.RLock()        // EDeep.RWMutex read lock
	c.Lock()         // the Mutex
	emLetGo(c, c.ch) // want `call to attackrelease4.emLetGo, which may block`
	c.Unlock()
	c.RUnlock()
}

func (c *ETwo) useTwoQuiet() {
	c.Lock()
	emLetGo(c, c.ch)
	c.Unlock()
}

func (c *ETwo) useTwoDeep() {
	c.Lock()
	c.EDeep.Lock()
	emLetGo(&c.EDeep, c.ch) // want `call to attackrelease4.emLetGo, which may block`
	c.EDeep.Unlock()
	c.Unlock()
}
