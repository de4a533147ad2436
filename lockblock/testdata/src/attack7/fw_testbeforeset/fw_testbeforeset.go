package fw_testbeforeset

import (
	"net"
	"sync"
)

const skipFlush = 1

type conn struct {
	mu    sync.Mutex
	flags uint8
	nc    net.Conn
	buf   []byte
}

// The test reads the word before the bit is set: on the first call the
// bit is clear and the flush runs while c.mu is held.
func (c *conn) closeOnce() {
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.flags&skipFlush != 0
	c.flags |= skipFlush
	if !was {
		c.nc.Write(c.buf) // want `call to net\.Conn\.Write, which waits for I/O \(network write\)`
	}
}
