// Package lockblock defines an Analyzer that reports a sync.Mutex or
// sync.RWMutex held across an operation that can block: a channel send or
// receive, a select without a default case, a sleep, a wait, or a call to a
// function that does one of these.
//
// A lock held while a goroutine waits for another goroutine is the root of
// a common deadlock: whoever would end the wait (a consumer, a shutdown, a
// restart) first needs the same lock. The analyzer finds the shape before
// it runs; its Doc is the manual.
package lockblock

import (
	"go/ast"
	"go/build"
	"go/token"
	"go/types"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/buildssa"
	"golang.org/x/tools/go/ssa"
)

const doc = `report a sync.Mutex or sync.RWMutex held across a blocking operation

lockblock reports an operation that can block for an unbounded time at a
point where a sync.Mutex or sync.RWMutex may still be held. Whoever would
end the wait (a consumer draining a channel, a shutdown, a restart) often
needs the same lock first, so the program deadlocks; and even when it does
not, every other user of the lock waits as long as the blocked goroutine.

A lock counts as held from a call of its Lock or RLock method, or from a
TryLock or TryRLock that returned true, until its Unlock or RUnlock. The
lock may be a struct field (embedded or named), a package variable or a
local variable, locked directly or through a sync.Locker (a variable of
that type, a type parameter constrained by it, or the Locker that RLocker
returns). Read locks nest: after two RLocks, one RUnlock leaves one held,
and so does a helper that lets one go around a wait; a helper that takes
a read lock twice leaves it held twice.
A TryLock's result is followed through variables and into the bool result
of a function of the package that returns it (a tryLock helper), so the
branch where it was false holds nothing. A helper that locks, or unlocks
again and returns an error, holds the lock only where its error result is
nil: after if err := l.acquire(); err != nil { return err }, the return
holds nothing.

The analysis follows every path through the function: a lock released on
one path but not another is still reported. A deferred Unlock releases
the lock only at return, so the lock is held until then. Deferred calls
run last in, first out: a deferred call that blocks (defer wg.Wait(), a
deferred func literal that sends) runs before the unlocks deferred ahead
of it, and is reported where it is deferred if a lock may still be held
when it runs, at a return or at a call of panic.

The body of a range-over-func loop (for x := range seq, with seq a func)
runs in the loop's goroutine, as often as the iterator calls it: it is
checked under the locks held at the loop, and what it leaves behind (a
lock kept by a break, a deferred call) holds after the loop. A lock that
the iterator itself holds while it calls the body (an All method that
read-locks its map while it yields) is not seen.

These operations block:

  - a channel send or receive, and a for-range loop over a channel; but
    a receive from a channel that the function made and hands only to
    goroutines it starts (by argument, or captured in a variable set
    once, before every use), which only send into it, on every path,
    defer nothing, and meet the conditions of a fork and join below (a
    fork and join by channel), blocks only if one of them may block:
    otherwise it waits for their work alone. How many receives wait for
    how many sends is not compared;
  - a select statement without a default case;
  - sync.WaitGroup.Wait and time.Sleep; but a Wait on a WaitGroup that
    the function made and only adds to, waits on and hands to goroutines
    it starts itself, which only mark it done, take no lock, call no
    unknown func value, interface method or sync.Once.Do, and call no
    function outside the package but those of the standard library,
    handing them no func value or interface (a fork and join), blocks only
    if one of those goroutines may block: otherwise it waits for their
    work alone;
  - sync.Cond.Wait on a Cond whose L is not the held lock (Wait releases
    its own lock while it waits, but no other);
  - the blocking calls of github.com/fanin-go/fanin: Channel.Send,
    Sender.Send, SendBatch, Limiter.Wait, Channel.Shutdown, Group.Run,
    Group.Shutdown, Group.Remove, Group.Replace, Stream.Recv,
    Pending.Request and the interface method Sink.Send;
  - a call of any function, in the same package or another one, that may
    do one of the above on some path. The property crosses packages as an
    analysis fact, so go vet -vettool finds it too.

Waits for I/O are a kind of their own, reported with their category:
reads, writes, accepts and dials of the concrete types of net (TCPConn,
UDPConn, UnixConn, IPConn, TCPListener, UnixListener, Dialer) and
crypto/tls (Conn, Dialer), DNS lookups, reads, writes and syncs of
os.File, os.ReadFile, os.WriteFile, os.ReadDir, and the client calls of
net/http (Get, Post, Head, PostForm, Client.Do and the like,
Transport.RoundTrip); the calls of database/sql that reach the
database (DB.Query, Exec, Begin, Tx.Commit, Stmt.Query, Rows.Next,
Row.Scan and the like, whose wait is behind the driver's interfaces);
reads, writes and accepts through the interfaces
of net (Conn, Listener, PacketConn), since whatever stands behind one
waits for its peer; and calls of functions that may do one of these.
Writes on a UDPConn or IPConn, net.DialUDP and net.DialIP are not
waits: a datagram is handed to the kernel and nothing answers it.
io.Reader and io.Writer are not counted: most of what stands behind one
is memory. -io=false drops every I/O finding and keeps the rest. In
the standard library only the network packages pass I/O on to their
callers: the rest reads small local files once (time zones, /dev/urandom),
which is not the wait this analysis is for.

A function that blocks only for some arguments is analysed again for a
call that passes constant bool arguments, following only the branches
they take: enqueue(p, false) does not flush when only enqueue(p, true)
does, and Begin(true) takes only the lock that its writable branch takes.
The same holds for a constant number or string passed to a parameter that
the function (or one it passes it to) compares with a constant in an if or
a switch: assign(assignKeep) does not stop what assign(assignPurge) stops,
and label("") returns before the cache that label(name) fills. The
constants flow through the caller's own parameters and through a
parameter that a closure captures. A branch on a result that the function
of the package always returns as the constant nil is never taken: after
if err := c.syncStreams(); err != nil { c.close() }, where syncStreams
returns nil on every path, close does not run (a typed nil pointer
returned as an error is not nil, and a named result, which a deferred
function may set, is not counted). nil passed to a parameter that the
function tests against nil is a constant too, a variable set on one
branch only takes the value of the branches taken, and a range over a
nil map does not run: closeWithError(nil) skips the waiting calls that
only if err != nil { calls = c.calls } would hand the error to.

Flag words are followed the same way. In a function analysed for
constant arguments, the bits known to be set in an unexported integer
field of a struct that a parameter points to (set by f |= K, or by a
method of the package that does *p |= v on every path and nothing
else) are followed along each path and handed to the calls that take
the same pointer; a test x&K != 0 or x&K == 0, or a one-line function
of the package returning one that stores and calls nothing, is then
decided, with the bits as they stand where the word is loaded in the
block of the test: markClosed(readError) sets skipFlush, and the
flushAndClose it calls does not flush behind
if !c.flags.isSet(skipFlush); a lock holder's own c.flags.set(skip)
before c.flushAndClose() counts too. A bit is forgotten at any other
store to a field of that name (in a struct of any type), at a store of
a whole struct that holds one, at a copy, clear or append into a slice
of such structs, at a call handed the field's address, and at a call of
a function of the package that does any of these; a deferred call gets
no bits. A field whose address the package keeps, or hands to a
function that does more than load and store through it, is not
followed. A write through a func value, an interface method or another
goroutine is not seen.

Within a function, a lock taken inside if c { ... } is held only where c
was true: a later if c { mu.Unlock() } releases it on one branch and
finds it not held on the other, and the same holds for the negation of
c, for nested conditions, and for an unlock deferred inside the if. A
lock reached through a struct the function made (tx := &Tx{db: db};
tx.db.mu is db.mu) is the lock it was stored from, and an unlock of a lock
that is not held releases the one held lock of the same struct field, if
there is exactly one (taken as db.mu, released as tx.db.mu).

A send cannot block when its channel has room:

  - a channel made in the function that no other goroutine can reach yet
    (kept in a local variable, in a captured variable that the closure
    reads only after the sends, or in a field of a new struct, even after
    an atomic method or a Lock on another of its fields);
  - a counted channel: made in the function with a constant capacity k
    above 0, kept in a variable that nothing sets again and that nothing
    reads or captures before it is set (nil waits for ever), and used,
    in the function and in the func literals it makes, only by sends,
    receives, selects that receive from it, len, cap, close and
    comparisons, with at most k sends into it, each outside any loop of
    its function, in the function itself or in a func literal that the
    function uses only as what one call, go statement or defer outside
    any loop calls: every value it is
    ever sent fits in its buffer, whoever receives (golang-migrate's lock
    defers done <- true to the timer goroutine it starts, which only
    receives);
  - a token field, which a loop of the package fills with constants
    while the channel is new, or which a func literal handed only to the
    Do of a sync.Once in a field or a package variable, never set anew,
    sets to a new buffered channel and fills, with nothing
    in between that starts a goroutine, calls, waits or sends elsewhere,
    sending once a turn up to the channel's capacity, with no loop around
    it and no other send into the field (the tokens of a semaphore, made
    at once or lazily), if every value stored into the field in the
    package is a new buffered channel so filled, the field's address and
    the channels loaded from it go nowhere else, and no value of the
    struct is made without one: a send of a constant into it gives a
    token back, unless it is in a loop, a range-over-func body or a
    function that may call itself, or another send into the field (in
    the function, a func literal it makes, or a callee, which does not
    give back a token it took) may precede it;
  - a send of a constant, outside loops, into a channel that the
    function received from earlier on every path (take a token, work,
    give it back), kept in a field or package variable that the package
    only sets to new buffered channels, with no other send into it and
    no store on its path between (in the function or a callee), and no
    call or variable index on its path;
  - a one-shot reply channel: an element of an unexported map or slice
    field (by range, by index, or by ch, ok := m[k] where ok is true)
    whose send is followed in its block, with no call, send or receive
    between, by the close of that channel, which a send can then find
    only once; if every channel the package puts into the field is made
    there with room and otherwise only received from or handed out
    receive-only, the field is only set to an empty map or slice (no map
    literal with entries), to itself resliced as s[i:] or s[:0], or to
    itself with such channels appended, no container from it is handed to
    a function, a channel from it is only sent into, closed, received
    from or handed out receive-only, and every send into a channel from
    it is so followed by a close;
  - an emptied signal: a send into an unexported field's channel that,
    on every path since anything could have filled it, the sender itself
    emptied (a select with a default case whose one other case receives
    from it, or the branch where len(ch) == 0 or len(ch) < cap(ch)),
    with no lock taken or let go, no send, no mutex overwritten and no
    call that could send, let go of a lock or run unseen code between;
    if every send of the package into the field is such a send, all hold
    one sync.Mutex or sync.RWMutex for writing (a field of the channel's
    struct or a package variable, through no pointer) on every path for
    every caller (a function that is not exported, not named by
    go:linkname, not used as a value, not called through an interface,
    not started by go and not deferred is entered holding what every call
    of it holds, given the constants each passes), the field is only set
    to channels made with a constant size above 0 and stored nowhere
    else, its address and channels go nowhere (receive-only excepted), no
    struct holding it is copied whole or kept in a slice, array, map or
    channel, and every one the package makes gets its channel before it
    returns;
  - an emptied element signal: a send into a channel kept in an
    unexported map or slice field, right after a select with a default
    case that receives from the same channel, with nothing between that
    calls, sends, receives or stores, where every send into the field's
    channels (a plain m[k] rules it out) is such a send and holds one
    lock as above, the field only ever holds new channels made with a
    constant size above 0 (each stored once, sent into only before it is
    stored, and otherwise only received from or handed out
    receive-only), and no struct holding it is copied;
  - a served queue: a send into an unexported field's channel (the
    field kept as an emptied signal's must be, its channels only sent
    into, received from, measured and closed) whose every receive is in
    one function of the
    package, the reader, through its receiver, which every function
    that stores a channel into the field starts with go on the same
    struct, after the store and before it returns, and which from its
    start to a receive from the field, and from each such receive to the
    next, does nothing that may wait: no other send, receive or blocking
    select, no lock taken, no Cond.Wait, no call that may block or wait
    for I/O, no call through a func value or an interface (a context's
    Done and Err excepted), no call of a package whose lock the package
    takes, no call of another package's function handed a lock or a
    value holding code (a context excepted) or of a type whose methods
    may wait, other than a func or values of types of the package whose
    methods are as clean, and no generic function of another package
    made for a type whose methods are not.
    A send after the reader returned, once the buffer is full, is not
    reported;
  - a wait for goroutines told to stop: a Wait on a WaitGroup field, or
    a receive from a channel field, after the close of a channel field
    of the same struct value on every path of its function, where the
    closed field is unexported and set only in a struct its setting
    function makes, before it uses the struct but through its fields,
    the struct's type is unexported, not generic, and held by value by
    no exported type, the WaitGroup is used only by Add(1) right before a go
    statement running a function of the package on the same struct, by
    Done in such a function through its receiver, and by Wait (or the
    done channel is set like the stop channel, in every struct made,
    each setting function starting a goroutine on the struct that closes
    it before it hands the struct on), and every such goroutine marks
    itself done on every path to its end (deferred before any other call
    or defer, or else with nothing deferred and no Goexit), starts no
    goroutine, nor does code it calls or hands on, waits for nothing but the stop channel (its every
    receive is from it, its every blocking select has a case receiving
    from it, and all else it does is as clean as a served queue's
    reader), and once the channel is closed reaches its end without
    going round again.

A Cond's lock is known from sync.NewCond(&c.mu), &sync.Cond{L: &c.mu} or
c.cond.L = &c.mu in the same package, for a Cond in a struct field or a
package variable, or from the first two in the same function; the Cond of
sync.NewCond(rw.RLocker()) has rw's read lock. Failing that, the lock
locked as c.L.Lock(), a held lock in the same struct as the Cond, or else
the only lock held, is taken for it. A function of the package that waits
on a Cond whose lock is known lets its caller's hold of that lock go while
it waits, so a waitLocked helper called with the Cond's lock held does not
block under it; the guesses do not cross calls, but for one. A Cond
whose lock a function of the package sets to the value it also stores
into an unexported *sync.Mutex or *sync.RWMutex field of the same struct
(vs.mu = mu; vs.writerCond.L = mu), a field the package stores into
nowhere else, uses only by loads and never copies or stores whole, and
whose lock is set nowhere else, has the lock that field points to. Where
every call of that function, directly or through the parameters of
unexported functions only called directly, hands it a struct loaded
from a pointer field only ever set to new structs and the address of a
lock field reached from the same root (d.mu.versions.init(&d.mu.Mutex)),
the two are paired: a Wait on the Cond, in a function or in a helper
however deep, and an unlock through vs.mu, let go of d.mu.Mutex if it
is held under that name (not as an element of a slice or map). A helper
that lets go of the lock for good through vs.mu is not taken to let go
of its caller's.

These do not count: a select with a default case; a go statement (its
work runs in a new goroutine, which does not hold the lock); a call
deferred before a guarded deferred unlock, defer func() { if !unlocked {
mu.Unlock() } }(), where unlocked is set to true only just after an
explicit mu.Unlock() and mu is not taken again after it, by a Lock, a
TryLock or a helper of the package (the guarded unlock runs first and
lets go of mu wherever it is held);
http.Server.Close, documented to close at once (Shutdown counts;
-blocking overrides); a send into a
channel that no other goroutine can reach yet, such as a new buffered
channel being filled; a send into the channel that a Prometheus
Collector's Collect or Describe is handed, which client_golang's registry
reads while they run (the parameter of a method Collect(chan<- Metric) or
Describe(chan<- *Desc) that the package does not call itself, or of an
unexported function or method of the package, called only directly, that
every call hands such a parameter); a
call through an interface other than fanin.Sink and those of net, or
through a function value whose target is not known; Sender.TrySend,
Sink.TrySend and the other calls that never wait.

A function of the package that locks or unlocks a lock reached from its
parameters, captured variables or a package variable does so for its
caller too, whether called directly, through a method value or through a
method expression: after c.lock() the caller holds c.mu, after c.unlock()
it does not. So does a func value whose target is known: a closure the
function made, the f of sync.OnceFunc(f), and the closure that a function
of the package returns on every path, with the parameters it captures
bound to the arguments of the call that made it (unlock :=
unlockOnce(&mu); ...; unlock()). once.Do(f) runs f where it is called. A helper that unlocks on some paths only leaves the lock
held for what follows; one that unlocks before it waits (updateAndUnlock,
or Unlock; wait; Lock) does not block under the caller's lock, and
neither does a function that waits only in such a helper, however deep the
call, also when the functions call each other (a flush that closes on
error, a close that flushes) or a closure captures the receiver through
which the helper unlocks. A helper that takes the lock only when a
condition holds, or by a TryLock, and unlocks it either way (if lazy {
mu.Lock() }; mu.Unlock()) lets go of its caller's where it did not take
it, and keeps its own where it took it. A sync.Locker handed to a helper
is the read lock if it came from RLocker(), and the embedded lock of a
struct that embeds one (at any depth, through pointers too), unless the
struct declares its own Lock or Unlock. Two calls
of one function with the same arguments are taken to return the same
lock, so c.lockFor(k).Lock() is undone by c.lockFor(k).Unlock().

Reports on calls name the operation at the end of the chain of calls:

	call to a.F, which may block (channel receive at h.go:12)

and with -chain the whole chain:

	call to a.F, which may block (a.g → b.H → channel receive at h.go:12)

For a helper that lets its caller's lock go around one wait and then
waits holding it, the chain ends in the wait made holding it.

A message names at most two locks and counts the others. One longer
than 300 bytes gives its advice as "unlock it before the call" and, if
still too long, leaves out where each lock was taken. Each finding
carries, as related positions, where each lock was taken and, when it is
in the package, where the operation at the end of the chain waits.
Findings are the same, byte for byte, from one run to the next.

The sites that hold locks of the same classes across the same operation
are one finding, at the first site in source order, whose message counts
the others ("; 42 more sites wait the same way") and whose related
positions name them after its own ("the same wait here, holding fs.mu").
A lock that is a struct field is of the field's class, whatever value it
is reached through, through a pointer field or RLocker too, and for every
instance of a generic type; a package variable is its own class; any
other lock (a local variable, a parameter, an element of a slice or map)
is a class of its own at each place it is taken; the read lock and the
write lock of one RWMutex are two classes. The operation is the one at
the end of the chain, known by its position, also in another package.
The sites of test files are grouped apart. -group=false reports every
site. A //lockblock:ignore covers the sites of its line, which then are
no sites of their groups.

The analysis follows static calls only and, but for constant arguments
that choose branches, does not depend on arguments or on the state of
objects: a
function that blocks only for some inputs is taken to block for all. It
does not model a deferred Lock (Unlock, then defer Lock to take the lock
back at return): after such a function its caller counts the lock as
released. Deferred calls are checked at returns and at calls of panic,
not where a runtime error or a called function panics.

Fix a report by copying what the blocking operation needs (the channel,
the value, the Sender) while the lock is held, unlocking, and then
blocking:

	s.mu.RLock()
	ch := s.ch
	s.mu.RUnlock()
	if ch != nil {
		ch <- v
	}

Where the operation cannot block for long, for example a send on a
channel that provably has room, say so with a directive at the end of the
line of the operation, or alone on the line above it:

	ch <- v //lockblock:ignore ch was made with room for this one value

A directive at the end of a line of code covers that line only.

The directive needs a reason; one without a reason is itself reported and
silences nothing. A silenced operation also no longer makes its function
count as blocking for callers.

What the analysis cannot know about a whole function, declare in the
function's doc comment, with a reason:

	//lockblock:nonblocking the pool is made with room for every buffer
	func (p *Pool) put(b []byte) { p.items <- b }

	//lockblock:blocking parks the goroutine until the platform wakes it
	func park()

A nonblocking function never makes its callers block (its own body is
still checked); a blocking one always does. The same for functions of
other modules, with -nonblocking and -blocking: comma-separated names,
import/path.Func, import/path.Type.Method (an interface method too, such
as io.Writer.Write), import/path.Type for every method of the type, or
import/path for every function of the package; -nonblocking wins.`

// Analyzer reports a sync.Mutex or sync.RWMutex held across an operation
// that can block. Its Doc is the manual. It exports a fact for each
// function that may block, so that callers in other packages are checked
// too. It is safe for concurrent use, as every analysis.Analyzer is.
var Analyzer = &analysis.Analyzer{
	Name:      "lockblock",
	Doc:       doc,
	URL:       "https://pkg.go.dev/github.com/fanin-go/fanin/lockblock",
	Requires:  []*analysis.Analyzer{buildssa.Analyzer},
	Run:       run,
	FactTypes: []analysis.Fact{new(mayBlock)},
}

// mayBlock is the fact exported for a function that may block on some
// path. Why names the operation at the root of the chain and where it is,
// as "channel send at sender.go:95".
//
// IO is the same for a function that may wait for I/O, with the category
// at the end: "call to net.conn.Write at c.go:9 [I/O: network write]".
type mayBlock struct {
	Why, IO string
	// At and IOAt are the positions, as text, of the operations that
	// Why and IO end in: they name them, for grouping, where the text
	// of Why and IO may name two alike.
	At, IOAt string
}

func (*mayBlock) AFact() {}

func (f *mayBlock) String() string {
	if f.IO == "" {
		return "mayBlock(" + f.Why + ")"
	}
	return "mayBlock(" + f.Why + "; " + f.IO + ")"
}

// checker holds the state of one pass.
type checker struct {
	pass *analysis.Pass
	prog *ssa.Program

	dirs *directives

	// rangeFor holds the positions of the for keyword of each range loop
	// over a channel: SSA gives the receive of such a loop that position.
	rangeFor map[token.Pos]bool

	// lockExpr holds, by the position of the opening parenthesis of a
	// Lock-like call, the text of the lock expression, to name a lock that
	// is not a simple path.
	lockExpr map[token.Pos]string

	// yields maps the body of each range-over-func loop of the package, a
	// synthetic yield function, to the closure that the loop passes to
	// its iterator.
	yields map[*ssa.Function]*ssa.MakeClosure

	// funcs holds the functions whose bodies are in this package, with
	// what is known of them.
	funcs map[*ssa.Function]*funcInfo

	// condL maps a struct field of type sync.Cond or *sync.Cond to the path
	// of its lock relative to the same struct, such as ".mu", as found in
	// a c.cond = sync.NewCond(&c.mu) of this package.
	condL map[*types.Var]condLock
	// ptrPairs maps a pointer field that holds a Cond's lock (see
	// keptBeside) to where the lock it points to is (see ptrPair).
	ptrPairs map[*types.Var][]ptrPair
	// allFns are the functions of the package, its package initializer
	// and the func literals in it included.
	allFns []*ssa.Function
	// condG maps a package variable of type sync.Cond or *sync.Cond to its
	// lock, a package variable too.
	condG map[*ssa.Global]condLock

	// tokens holds the struct fields of channel type that a loop of the
	// package fills with constants while the channel is new: the tokens
	// of a semaphore, whose sends give back what was taken.
	tokens map[*types.Var]bool
	// fills holds the sends of the loops that made the token fields full.
	fills map[*ssa.Send]bool
	// drained holds the parameters that hold the channel a Prometheus
	// Collector's Collect or Describe is handed (see findDrained).
	drained map[*ssa.Parameter]bool
	// buffered tells, for a channel field (*types.Var) or package
	// variable (*ssa.Global), whether the package only ever sets it to
	// new buffered channels and never hands its address on.
	buffered map[any]bool

	// joinBusy holds the channels whose receives chanJoin is judging, so
	// that a goroutine that starts its own fork ends the recursion.
	joinBusy map[*ssa.MakeChan]bool

	// found holds the findings of the package, to be grouped; see
	// reportGroups.
	found []finding

	// inGOROOT is whether the package is of the standard library.
	inGOROOT bool

	// cfg is what the command line sets; decls, what directives declare.
	cfg   config
	decls map[*types.Func]declaration

	// spec holds the summaries of functions of the package for constant
	// bool arguments; see specWhy.
	spec map[specKey]summary
	// specBusy holds the summaries of spec being made; specGuessed
	// counts the times one was read before it was done.
	specBusy    map[specKey]bool
	specGuessed int
	// specEff holds the effects of functions of the package for constant
	// bool arguments; see specEffects.
	specEff map[specKey]*lockEffects

	// setters, clearing and setting hold, by function of the package,
	// what isSetter, clears (nil until its first call) and setsFlags
	// found; trackable, by field, what flagField found.
	setters   map[*ssa.Function]bool
	clearing  map[*ssa.Function]map[string]bool
	setting   map[*ssa.Function]bool
	trackable map[*types.Var]bool
	// oneShots holds, by field, what oneShotField found.
	oneShots map[*types.Var]bool
	// emptied holds the sends into emptied channels; see findEmptied.
	emptied map[*ssa.Send]bool
	// served holds the sends into served channels; see findServed.
	served map[*ssa.Send]bool
	// stopped holds the waits on goroutines told to stop; see
	// findStopped.
	stopped map[ssa.Instruction]bool
	// kept remembers emptiedField's answer for each field, which both
	// findEmptied and findServed ask, over the same functions.
	kept map[*types.Var]bool
	// prefill is set while emptiedElems asks freshChan whether a channel
	// is new: one sent into before it is stored is, for an emptied
	// element channel, whose every later send drains it first.
	prefill bool
	// lockPkgs holds the other packages whose locks the package takes;
	// see lockedPkgs.
	lockPkgs map[*types.Package]bool

	// loops holds, by function, which blocks lie on a cycle.
	loops map[*ssa.Function][]bool

	// rec is the state of the outermost analysis under way; see analyze.
	rec struct {
		depth   int                            // nesting of analyses
		done    []*ssa.Function                // analyzed in this round
		guessed bool                           // a recursive call read assumed effects
		assumed map[*ssa.Function]*lockEffects // effects of the last round
	}
}

// funcInfo is what a checker knows of one function of its package.
type funcInfo struct {
	summary                 // how it may block, once known
	never   bool            // declared never to block
	callers []*ssa.Function // functions of this package that call it

	flow     *flow        // the lock-set analysis; nil if no lock is taken
	effects  *lockEffects // locks left held or released for the caller; nil until computed
	visiting bool         // flow is being computed (recursion guard)
}

func run(pass *analysis.Pass) (any, error) {
	if path := pass.Pkg.Path(); path == "runtime" || strings.HasPrefix(path, "runtime/") {
		// The runtime's own channel operations (starting the garbage
		// collector's workers, say) are not waits its callers can see.
		return nil, nil
	}
	ssaRes := pass.ResultOf[buildssa.Analyzer].(*buildssa.SSA)
	c := &checker{
		pass:      pass,
		prog:      ssaRes.Pkg.Prog,
		dirs:      parseDirectives(pass),
		rangeFor:  map[token.Pos]bool{},
		lockExpr:  map[token.Pos]string{},
		yields:    map[*ssa.Function]*ssa.MakeClosure{},
		funcs:     map[*ssa.Function]*funcInfo{},
		condL:     map[*types.Var]condLock{},
		ptrPairs:  map[*types.Var][]ptrPair{},
		condG:     map[*ssa.Global]condLock{},
		loops:     map[*ssa.Function][]bool{},
		tokens:    map[*types.Var]bool{},
		fills:     map[*ssa.Send]bool{},
		drained:   map[*ssa.Parameter]bool{},
		buffered:  map[any]bool{},
		joinBusy:  map[*ssa.MakeChan]bool{},
		cfg:       currentConfig(),
		decls:     map[*types.Func]declaration{},
		spec:      map[specKey]summary{},
		specBusy:  map[specKey]bool{},
		specEff:   map[specKey]*lockEffects{},
		setters:   map[*ssa.Function]bool{},
		trackable: map[*types.Var]bool{},
		setting:   map[*ssa.Function]bool{},
		oneShots:  map[*types.Var]bool{},
		emptied:   map[*ssa.Send]bool{},
		served:    map[*ssa.Send]bool{},
		stopped:   map[ssa.Instruction]bool{},
		kept:      map[*types.Var]bool{},
	}
	c.parseDeclarations()
	if len(pass.Files) > 0 {
		c.inGOROOT = c.inStd(pass.Files[0].Pos())
	}
	c.scanSyntax()
	for _, fn := range ssaRes.SrcFuncs {
		c.funcs[fn] = &funcInfo{}
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if mc := yieldClosure(instr); mc != nil {
					c.yields[mc.Fn.(*ssa.Function)] = mc
				}
			}
		}
	}
	c.findTokens(ssaRes.SrcFuncs, ssaRes.Pkg)
	c.findDrained(ssaRes.SrcFuncs, ssaRes.Pkg.Func("init"))
	withInit := c.withInit(ssaRes.SrcFuncs)
	c.allFns = withInit
	c.findEmptied(withInit)
	c.findServed(withInit)
	c.findStopped(withInit)
	c.summarize(ssaRes.SrcFuncs)
	c.exportFacts(ssaRes.SrcFuncs)
	c.findCondLocks(withInit)
	for _, fn := range ssaRes.SrcFuncs {
		c.checkFunc(fn)
	}
	c.reportGroups()
	c.dirs.reportMissingReasons(pass)
	return nil, nil
}

// inStd reports whether pos is in a file of the standard library.
func (c *checker) inStd(pos token.Pos) bool {
	f := c.pass.Fset.File(pos)
	if f == nil || build.Default.GOROOT == "" {
		return false
	}
	return strings.HasPrefix(f.Name(), filepath.Join(build.Default.GOROOT, "src")+string(filepath.Separator))
}

// scanSyntax records what SSA does not keep: which receives are range
// loops, and how the source spells each lock.
func (c *checker) scanSyntax() {
	for _, f := range c.pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.RangeStmt:
				if t := c.pass.TypesInfo.TypeOf(n.X); t != nil {
					if _, ok := t.Underlying().(*types.Chan); ok {
						c.rangeFor[n.For] = true
					}
				}
			case *ast.CallExpr:
				if sel, ok := ast.Unparen(n.Fun).(*ast.SelectorExpr); ok {
					switch sel.Sel.Name {
					case "Lock", "RLock", "TryLock", "TryRLock":
						c.lockExpr[n.Lparen] = types.ExprString(sel.X)
					}
				}
			}
			return true
		})
	}
}

// exportFacts exports a mayBlock fact for each exported function and
// method of the package that may block. Other packages can call no other:
// within the package the summary of the function itself serves.
func (c *checker) exportFacts(fns []*ssa.Function) {
	for _, fn := range fns {
		if fn.Synthetic != "" || fn.Parent() != nil {
			continue
		}
		obj, ok := fn.Object().(*types.Func)
		if !ok || !obj.Exported() || obj.Pkg() != c.pass.Pkg {
			continue
		}
		if sum := c.funcs[fn].summary; sum.why != "" || sum.ioWhy != "" {
			c.pass.ExportObjectFact(obj, &mayBlock{Why: sum.why, IO: sum.ioWhy, At: sum.root.at, IOAt: sum.ioRoot.at})
		}
	}
}

// where formats pos as file:line, the form every message uses.
func (c *checker) where(pos token.Pos) string {
	p := c.pass.Fset.Position(pos)
	if !p.IsValid() {
		return "an unknown position"
	}
	return filepath.Base(p.Filename) + ":" + strconv.Itoa(p.Line)
}

// yieldClosure returns the closure of the body of a range-over-func loop
// that v is, or nil. SSA makes the body a function of its own, which the
// iterator calls through a func value.
func yieldClosure(v any) *ssa.MakeClosure {
	mc, ok := v.(*ssa.MakeClosure)
	if !ok {
		return nil
	}
	if fn, ok := mc.Fn.(*ssa.Function); ok && fn.Synthetic == "range-over-func yield" {
		return mc
	}
	return nil
}
