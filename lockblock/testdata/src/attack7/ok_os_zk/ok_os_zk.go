package ok_os_zk

import "sync"

type EventType int32
type State int32

type Event struct {
	Type   EventType
	State  State
	Path   string
	Err    error
	Server string
}

type watchType int

const (
	watchTypeData watchType = iota
	watchTypeExist
	watchTypeChild
)

type watchPathType struct {
	path  string
	wType watchType
}

type watcherEvent struct {
	Type  EventType
	State State
	Path  string
}

type Conn struct {
	watchersLock sync.Mutex
	watchers     map[watchPathType][]chan Event
	eventChan    chan Event
}

func NewConn() (*Conn, <-chan Event) {
	ec := make(chan Event, 6)
	c := &Conn{
		watchers:  make(map[watchPathType][]chan Event),
		eventChan: ec,
	}
	return c, ec
}

func (c *Conn) addWatcher(path string, watchType watchType) <-chan Event {
	c.watchersLock.Lock()
	defer c.watchersLock.Unlock()

	ch := make(chan Event, 1)
	wpt := watchPathType{path, watchType}
	c.watchers[wpt] = append(c.watchers[wpt], ch)
	return ch
}

func (c *Conn) invalidateWatches(err error) {
	c.watchersLock.Lock()
	defer c.watchersLock.Unlock()

	if len(c.watchers) >= 0 {
		for pathType, watchers := range c.watchers {
			ev := Event{Type: 1, State: 2, Path: pathType.path, Err: err}
			for _, ch := range watchers {
				ch <- ev
				close(ch)
			}
		}
		c.watchers = make(map[watchPathType][]chan Event)
	}
}

func (c *Conn) onEvent(res *watcherEvent) {
	ev := Event{Type: res.Type, State: res.State, Path: res.Path}
	wTypes := make([]watchType, 0, 2)
	switch res.Type {
	case 1:
		wTypes = append(wTypes, watchTypeExist)
	case 2, 3:
		wTypes = append(wTypes, watchTypeData, watchTypeExist, watchTypeChild)
	case 4:
		wTypes = append(wTypes, watchTypeData)
	}
	c.watchersLock.Lock()
	for _, t := range wTypes {
		wpt := watchPathType{res.Path, t}
		if watchers, ok := c.watchers[wpt]; ok {
			for _, ch := range watchers {
				ch <- ev
				close(ch)
			}
			delete(c.watchers, wpt)
		}
	}
	c.watchersLock.Unlock()
}

func (c *Conn) GetW(path string) (<-chan Event, error) {
	ech := c.addWatcher(path, watchTypeData)
	return ech, nil
}
