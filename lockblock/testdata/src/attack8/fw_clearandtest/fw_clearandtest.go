package fw_clearandtest

import "sync"

type flag uint8

const skip flag = 1

// One line: clears the bit, then tests it; always false.
func (f *flag) clearAndTest(b flag) bool { *f &^= b; return *f&b != 0 }

type conn struct {
	mu    sync.Mutex
	flags flag
	ch    chan int
}

func (c *conn) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flags |= skip
	if !c.flags.clearAndTest(skip) {
		// always runs, c.mu held
		c.ch <- 1 // want `channel send`
	}
}
