package fw_testbeforeset2

import (
	"net"
	"sync"
)

type clientFlag uint16

const (
	closed clientFlag = 1 << iota
	skipFlush
)

func (f *clientFlag) set(b clientFlag)       { *f |= b }
func (f clientFlag) isSet(b clientFlag) bool { return f&b != 0 }

type client struct {
	mu    sync.Mutex
	flags clientFlag
	nc    net.Conn
	buf   []byte
}

func (c *client) flushAndClose(r int) {
	old := c.flags
	c.flags.set(closed)
	if !old.isSet(closed) {
		c.nc.Write(c.buf) // first close: flush
	}
}

type server struct {
	mu sync.Mutex
}

func (s *server) drop(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.flushAndClose(0) // want `call to fw_testbeforeset2\.client\.flushAndClose, which may wait for I/O \(network write: call to net\.Conn\.Write at fw_testbeforeset2\.go:29\)`
}
