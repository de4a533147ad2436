package attackrelease4

import (
	"os"
	"sync"
)

type IK struct {
	mu sync.Mutex
	ch chan int
}

// lets c.mu go around a file read, then waits on the channel holding it.
func (c *IK) ioThenWait() {
	c.mu.Unlock()
	os.ReadFile("x")
	c.mu.Lock()
	<-c.ch // want `channel receive while c.mu may be held`
}

func (c *IK) useIoThenWait() {
	c.mu.Lock()
	c.ioThenWait() // want `call to attackrelease4.IK.ioThenWait, which may block \(channel receive at iokind.go:18\)`
	c.mu.Unlock()
}

// lets c.mu go around the channel wait, then reads a file holding it.
func (c *IK) waitThenIo() {
	c.mu.Unlock()
	<-c.ch
	c.mu.Lock()
	os.ReadFile("x") // want `file read`
}

func (c *IK) useWaitThenIo() {
	c.mu.Lock()
	c.waitThenIo() // want `call to attackrelease4.IK.waitThenIo, which may wait for I/O`
	c.mu.Unlock()
}

func (c *IK) a() { <-c.ch }
func (c *IK) b() { c.ch <- 1 }

// different callees: the chain must end in b's send.
func (c *IK) ab() {
	c.mu.Unlock()
	c.a()
	c.mu.Lock()
	c.b() // want `call to attackrelease4.IK.b`
}

func (c *IK) useAB() {
	c.mu.Lock()
	c.ab() // want `call to attackrelease4.IK.ab, which may block \(channel send at iokind.go:42\)`
	c.mu.Unlock()
}
