package fw_clearandtest2

import "sync"

type flag uint8

const skip flag = 1

// Not a one-line test: it resets the word, then reports the bit.
func (f *flag) resetAndCheck(b flag) bool {
	*f = 0
	return *f&b != 0
}

type conn struct {
	mu    sync.Mutex
	flags flag
	ch    chan int
}

func (c *conn) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flags |= skip
	if !c.flags.resetAndCheck(skip) {
		// always runs, c.mu held
		c.ch <- 1 // want `channel send`
	}
}
