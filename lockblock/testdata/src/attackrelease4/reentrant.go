package attackrelease4

import "sync"

// RE embeds a Mutex; its own Unlock frees the Mutex only at depth zero.
type RE struct {
	sync.Mutex
	depth int
	ch    chan int
}

func (r *RE) Unlock() {
	r.depth--
	if r.depth == 0 {
		r.Mutex.Unlock()
	}
}

func reLetGo(l sync.Locker, ch chan int) {
	l.Unlock()
	<-ch
	l.Lock()
}

func reRelease(l sync.Locker) { l.Unlock() }

func (r *RE) direct() {
	r.Lock()
	r.depth = 2
	r.Unlock()
	<-r.ch // want `channel receive while r.Mutex may be held`
}

func (r *RE) viaHelper() {
	r.Lock()
	r.depth = 2
	reRelease(r)
	<-r.ch // want `channel receive while r.Mutex may be held`
}

func (r *RE) viaLetGo() {
	r.Lock()
	r.depth = 2
	reLetGo(r, r.ch) // want `call to attackrelease4.reLetGo, which may block`
}

func (r *RE) viaLocal() {
	var l sync.Locker = r
	r.Lock()
	r.depth = 2
	l.Unlock()
	<-r.ch // want `channel receive while r.Mutex may be held`
}
