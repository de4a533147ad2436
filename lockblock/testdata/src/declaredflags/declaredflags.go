// Package declaredflags is checked with -blocking and -nonblocking
// (TestDeclareFlags): declaredflags.Park blocks, the interface method
// io.Writer.Write blocks, and declaredflags.Pool.put never does.
package declaredflags

import (
	"io"
	"sync"
)

type Pool struct {
	mu    sync.Mutex
	items chan []byte
	w     io.Writer
}

func (p *Pool) put(b []byte) { p.items <- b }

func Park() {} // want Park:`mayBlock\(declared blocking at declaredflags\.go:\d+\)`

func (p *Pool) use(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.put(b)
	Park()       // want `^call to declaredflags\.Park, which is declared blocking while p\.mu may be held`
	p.w.Write(b) // want `^call to io\.Writer\.Write, which is declared blocking`
}
