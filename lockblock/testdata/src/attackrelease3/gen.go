package attackrelease3

import "sync"

type GN struct {
	mu sync.Mutex
	ch chan int
}

func letGoGen[L sync.Locker](l L, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

func letGoLk(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

func (c *GN) useGeneric() {
	c.mu.Lock()
	letGoGen(&c.mu, c.ch)
	c.mu.Unlock()
}

func (c *GN) useLocker() {
	c.mu.Lock()
	letGoLk(&c.mu, c.ch)
	c.mu.Unlock()
}

type EM struct {
	sync.Mutex
	ch chan int
}

func (c *EM) useLockerEmbedded() {
	c.Lock()
	letGoLk(c, c.ch)
	c.Unlock()
}

func (c *EM) useLockerEmbeddedAddr() {
	c.Lock()
	letGoLk(&c.Mutex, c.ch)
	c.Unlock()
}

// generic unlock for good
func unlockGen[L sync.Locker](l L) { l.Unlock() }

func (c *GN) useUnlockGen() {
	c.mu.Lock()
	unlockGen(&c.mu)
	<-c.ch
}
