package attackrelease4

import "sync"

// OV embeds a Mutex but its own Unlock does not unlock it.
type OV struct {
	sync.Mutex
	other sync.Mutex
	ch    chan int
}

// Through a sync.Locker, OV's own Unlock is not followed: the messages
// below also name o.other, which it releases.
func (o *OV) Unlock() { o.other.Unlock() }

func ovLetGo(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

func ovRelease(l sync.Locker) { l.Unlock() }

func (o *OV) use() {
	o.Mutex.Lock()
	o.other.Lock()
	ovLetGo(o, o.ch) // want `call to attackrelease4.ovLetGo, which may block`
	o.Mutex.Unlock()
}

func (o *OV) useRelease() {
	o.Mutex.Lock()
	o.other.Lock()
	ovRelease(o)
	<-o.ch // want `channel receive while o.Mutex .*may be held`
	o.Mutex.Unlock()
}

func (o *OV) useLocal() {
	o.Mutex.Lock()
	o.other.Lock()
	var l sync.Locker = o
	l.Unlock()
	<-o.ch // want `channel receive while o.Mutex .*may be held`
	o.Mutex.Unlock()
}
