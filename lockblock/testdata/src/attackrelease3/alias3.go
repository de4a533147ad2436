package attackrelease3

import "sync"

type Shard struct {
	mu sync.Mutex
}

type AL struct {
	shards    []*Shard
	arr       [2]Shard
	cur, next *Shard
	ch        chan int
}

// letGoIdx lets go shard i.
func (c *AL) letGoIdx(i int) {
	c.shards[i].mu.Unlock()
	<-c.ch
	c.shards[i].mu.Lock()
}

// holds shard 0, lets go shard 1: shard 0 is held at the wait.
func (c *AL) otherShard() {
	c.shards[0].mu.Lock()
	c.shards[1].mu.Lock()
	c.letGoIdx(1) // want `call to attackrelease3.AL.letGoIdx, which may block`
	c.shards[1].mu.Unlock()
	c.shards[0].mu.Unlock()
}

// array elements, in the function itself.
func (c *AL) arrLocal() {
	c.arr[0].mu.Lock()
	c.arr[1].mu.Lock()
	c.arr[1].mu.Unlock()
	<-c.ch // want `channel receive while c.arr\[0\].mu may be held`
	c.arr[0].mu.Unlock()
}

// slice elements, in the function itself.
func (c *AL) sliceLocal(i, j int) {
	c.shards[i].mu.Lock()
	c.shards[j].mu.Unlock()
	<-c.ch // held unless i == j; not reported (documented: an unlock of a lock not held releases the one held lock of the same field)
}

// the field moves on before the let-go: the caller's c.cur is not let go.
func (c *AL) moveOn() {
	c.cur = c.next
	c.cur.mu.Unlock()
	<-c.ch
	c.cur.mu.Lock()
}

func (c *AL) useMoveOn() {
	c.cur.mu.Lock()
	c.next.mu.Lock()
	c.moveOn() // want `call to attackrelease3.AL.moveOn, which may block`
	c.cur.mu.Unlock()
}

// the same in one function.
func (c *AL) moveLocal() {
	c.cur.mu.Lock()
	c.cur = c.next
	c.cur.mu.Unlock()
	<-c.ch // the old c.cur.mu is held; not reported (documented: two loads of one field are one lock)
}
