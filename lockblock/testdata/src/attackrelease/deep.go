package attackrelease

import (
	"sync"
	"time"
)

type D struct {
	mu   sync.Mutex
	ch   chan int
	n    int
	fail bool
}

// letGo is called with d.mu held; it lets it go around the wait.
func (d *D) letGo() {
	d.mu.Unlock()
	<-d.ch
	d.mu.Lock()
}

// midThenSleep waits in letGo, with d.mu let go, and then sleeps with the
// caller's d.mu held again.
func (d *D) midThenSleep() {
	d.letGo()
	time.Sleep(time.Second)
}

func (d *D) useMidThenSleep() {
	d.mu.Lock()
	d.midThenSleep() // want `call to attackrelease.D.midThenSleep, which may block \(call to time.Sleep at deep.go:26\) while d.mu may be held`
	d.mu.Unlock()
}

// midSleepFirst sleeps before letGo lets go.
func (d *D) midSleepFirst() {
	time.Sleep(time.Second)
	d.letGo()
}

func (d *D) useMidSleepFirst() {
	d.mu.Lock()
	d.midSleepFirst() // want `call to attackrelease.D.midSleepFirst, which may block \(call to time.Sleep at deep.go:37\) while d.mu may be held`
	d.mu.Unlock()
}

// deep3 -> deep2 -> letGo, then deep3 waits.
func (d *D) deep2() { d.letGo() }
func (d *D) deep3() {
	d.deep2()
	d.ch <- 1
}

func (d *D) useDeep3() {
	d.mu.Lock()
	d.deep3() // want `call to attackrelease.D.deep3, which may block \(channel send at deep.go:51\) while d.mu may be held`
	d.mu.Unlock()
}

// viaValue calls letGo through a method value of another D.
func (d *D) viaValue(o *D) {
	f := o.letGo
	f()
}

func (d *D) useViaValue(o *D) {
	d.mu.Lock()
	o.mu.Lock()
	d.viaValue(o) // want `call to attackrelease.D.viaValue, which may block \(channel receive at deep.go:18\) while d.mu may be held`
	o.mu.Unlock()
	d.mu.Unlock()
}

// letGoOther takes a parameter and lets go of its lock.
func letGoOther(o *D) {
	o.mu.Unlock()
	<-o.ch
	o.mu.Lock()
}

// reassigned: o is reassigned before the call, so the lock let go is d2's.
func (d *D) reassigned(d2 *D) {
	o := d
	if d.fail {
		o = d2
	}
	letGoOther(o)
}

func (d *D) useReassigned(d2 *D) {
	d.mu.Lock()
	d2.mu.Lock()
	d.reassigned(d2) // want `call to attackrelease.D.reassigned, which may block \(channel receive at deep.go:77\) while d.mu \(locked at deep.go:91\) and d2.mu`
	d2.mu.Unlock()
	d.mu.Unlock()
}
