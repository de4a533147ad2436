package fw_condsetter

import (
	"net"
	"sync"
)

type flag uint8

const (
	closed flag = 1 << iota
	skipFlush
)

// Sets b only while the connection is open.
func (f *flag) setIfOpen(b flag) {
	if *f&closed == 0 {
		*f |= b
	}
}

type conn struct {
	mu    sync.Mutex
	flags flag
	nc    net.Conn
	buf   []byte
}

func (c *conn) flushAndClose() {
	if c.flags&skipFlush == 0 {
		c.nc.Write(c.buf)
	}
}

func (c *conn) markClosed() { c.flags |= closed }

func (c *conn) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markClosed()
	c.flags.setIfOpen(skipFlush) // does nothing: closed is set
	// writes with c.mu held
	c.flushAndClose() // want `call to fw_condsetter\.conn\.flushAndClose, which may wait for I/O \(network write: call to net\.Conn\.Write at fw_condsetter\.go:31\)`
}
