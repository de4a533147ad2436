package pathsense

type assignHow int

const (
	assignKeep assignHow = iota
	assignInvalidate
	assignPurge
)

type consumer struct {
	mu      S
	stopped chan struct{}
}

// assign stops the session, which waits for its workers, only for the
// ways of assigning that invalidate what is consumed.
func (c *consumer) assign(how assignHow) {
	switch how {
	case assignInvalidate, assignPurge:
		<-c.stopped
	}
}

// name blocks only for "drain".
func (c *consumer) name(op string) {
	if op == "drain" {
		<-c.stopped
	}
}

func (c *consumer) enums() {
	c.mu.mu.Lock()
	defer c.mu.mu.Unlock()
	c.assign(assignKeep)
	c.name("peek")
	c.assign(assignPurge) // want `call to pathsense.consumer.assign, which may block \(channel receive at enum.go:21\) while c.mu.mu may be held`
	c.name("drain")       // want `call to pathsense.consumer.name, which may block \(channel receive at enum.go:28\) while c.mu.mu may be held`
}
