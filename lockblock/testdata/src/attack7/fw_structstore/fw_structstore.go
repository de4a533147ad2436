package fw_structstore

import (
	"net"
	"sync"
)

const skipFlush = 1

type conn2 struct {
	flags uint8
	nc    net.Conn
	buf   []byte
}

func (c *conn2) flushAndClose() {
	if c.flags&skipFlush == 0 {
		c.nc.Write(c.buf)
	}
	c.nc.Close()
}

// *c = conn2{...} stores the whole struct: flags becomes 0.
func (c *conn2) markClosed() {
	c.flags |= skipFlush
	*c = conn2{nc: c.nc, buf: c.buf}
	c.flushAndClose()
}

type server struct{ mu sync.Mutex }

func (s *server) drop(c *conn2) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.markClosed() // want `call to fw_structstore\.conn2\.markClosed, which may wait for I/O \(network write: call to net\.Conn\.Write at fw_structstore\.go:18\)`
}
