// Package declared declares its own blocking and never-blocking functions
// with directives; TestDeclareFlags declares others with -blocking and
// -nonblocking.
package declared

import "sync"

type Pool struct {
	mu    sync.Mutex
	items chan []byte
	n     int
}

// put returns a buffer to the pool.
//
//lockblock:nonblocking the pool is made with room for every buffer it hands out
func (p *Pool) put(b []byte) { p.items <- b }

// wait is a hook of the platform that parks the caller.
//
//lockblock:blocking parks the goroutine until the platform wakes it
func wait() {}

// bare declares without a reason: reported, and declares nothing.
//
//lockblock:nonblocking // want `^//lockblock:nonblocking needs a reason`
func (p *Pool) bare(b []byte) { p.items <- b }

func (p *Pool) use(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.put(b)
	p.n++
	wait()     // want `^call to declared\.wait, which may block \(declared blocking at declared\.go:\d+\) while p\.mu may be held`
	p.bare(b)  // want `call to declared\.Pool\.bare, which may block`
	External() // want `call to declared\.External, which may block`
}

// External is called through a fact by other packages: put does not make
// it block.
func External() { // want External:`mayBlock\(declared\.wait → declared blocking at declared\.go:\d+\)`
	var p Pool
	p.put(nil)
	wait()
}
