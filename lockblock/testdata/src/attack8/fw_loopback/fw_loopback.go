package fw_loopback

import "sync"

const skip = 1

type conn struct {
	mu    sync.Mutex
	flags uint8
	ch    chan int
}

func (c *conn) run(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flags |= skip
	for i := 0; i < n; i++ {
		if c.flags&skip == 0 {
			// second iteration: bit cleared below
			c.ch <- i // want `channel send`
		}
		c.flags = 0
	}
}
