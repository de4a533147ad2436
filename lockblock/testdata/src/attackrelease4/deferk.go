package attackrelease4

import (
	"errors"
	"sync"
)

type DK struct {
	mu  sync.Mutex
	ch  chan int
	ack chan int
	bad bool
}

func (c *DK) h(release bool) {
	if release {
		c.mu.Unlock()
		defer c.mu.Lock()
	}
	<-c.ch
}

func (c *DK) letGo() {
	c.mu.Unlock()
	<-c.ch
	c.mu.Lock()
}

func (c *DK) deferTrue() {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.h(true)
}

func (c *DK) deferFalse() {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.h(false) // want `call to attackrelease4.DK.h, which may block`
}

func (c *DK) deferLetGo() {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.letGo()
}

// e lets c.mu go around the wait; on failure it returns with c.mu released.
func (c *DK) e() error {
	c.mu.Unlock()
	<-c.ch
	c.mu.Lock()
	if c.bad {
		c.mu.Unlock()
		return errors.New("bad")
	}
	return nil
}

func (c *DK) useE() error {
	c.mu.Lock()
	if err := c.e(); err != nil {
		return err
	}
	<-c.ack // want `channel receive while c.mu may be held`
	c.mu.Unlock()
	return nil
}

func (c *DK) useEQuiet() error {
	c.mu.Lock()
	if err := c.e(); err != nil {
		// Known and conservative: e lets c.mu go around a wait and
		// unlocks it on its error path, but the rule that an error
		// result says where a lock is held covers helpers that take
		// the lock, so c.mu is taken to be held here.
		<-c.ack // want `channel receive while c.mu may be held`
		return err
	}
	c.mu.Unlock()
	return nil
}
