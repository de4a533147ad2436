package lockblock

import (
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// faninPath is the import path of the fanin core, whose blocking calls are
// listed by name: facts cover those with bodies, but an interface method
// has none.
const faninPath = "github.com/fanin-go/fanin"

// listed holds the calls known to block, by funcKey, with what they wait
// for. Those of the standard library wait in the runtime, where no channel
// operation shows them.
var listed = map[string]string{
	"time.Sleep":          "sleeps",
	"sync.WaitGroup.Wait": "waits for the WaitGroup",
	"sync.Cond.Wait":      "releases only the Cond's own lock while it waits",

	faninPath + ".Channel.Send":     "waits for room in the stream",
	faninPath + ".Sender.Send":      "waits for room in the stream",
	faninPath + ".Sink.Send":        "waits for room in the sink",
	faninPath + ".SendBatch":        "waits for tokens and for room in the stream",
	faninPath + ".Limiter.Wait":     "waits for a token",
	faninPath + ".Channel.Shutdown": "waits for the sends in flight",
	faninPath + ".Group.Run":        "runs until the group is shut down",
	faninPath + ".Group.Shutdown":   "waits for every adapter to return",
	faninPath + ".Group.Remove":     "waits for the adapter to return",
	faninPath + ".Group.Replace":    "waits for the old adapter to return",
	faninPath + ".Stream.Recv":      "waits for a value",
	faninPath + ".Pending.Request":  "waits for the reply",
}

// promPath is the import path of Prometheus's client library.
const promPath = "github.com/prometheus/client_golang/prometheus"

// drainedType reports whether t is the type of the channel that a
// Prometheus Collector's Collect or Describe is handed: chan<- Metric or
// chan<- *Desc.
func drainedType(t types.Type) bool {
	ch, ok := t.(*types.Chan)
	if !ok || ch.Dir() != types.SendOnly {
		return false
	}
	elem, ptr := ch.Elem(), false
	if p, ok := elem.(*types.Pointer); ok {
		elem, ptr = p.Elem(), true
	}
	n, ok := elem.(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != promPath {
		return false
	}
	name := n.Obj().Name()
	return name == "Metric" && !ptr || name == "Desc" && ptr
}

// findDrained records the parameters that hold the channel a Prometheus
// Collector's Collect or Describe is handed, which client_golang's
// registry reads while they run, so that a send into it does not wait
// for long: the parameter of a method Collect(chan<- Metric) or
// Describe(chan<- *Desc) that the package never calls directly, nor
// through the Collector interface with a channel of its own, and that of
// an unexported function or method of the
// package, called only directly (not as a func value, through an
// interface or with go), that every call hands such a parameter. A channel
// of the same type that the program made, or that a function of its own
// is handed otherwise, may be read as slowly as the program likes.
func (c *checker) findDrained(fns []*ssa.Function, init *ssa.Function) {
	calls := map[*ssa.Function][]ssa.CallInstruction{}
	escapes := map[*ssa.Function]bool{}
	invoked := map[string]bool{}
	var gathers []ssa.Value // what the package hands to Collect or Describe through an interface
	seen := map[*ssa.Function]bool{}
	var index func(fn *ssa.Function)
	index = func(fn *ssa.Function) {
		if seen[fn] {
			return
		}
		seen[fn] = true
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				var callee ssa.Value
				if call, ok := instr.(ssa.CallInstruction); ok {
					if cc := call.Common(); cc.IsInvoke() {
						invoked[cc.Method.Name()] = true
						if name := cc.Method.Name(); (name == "Collect" || name == "Describe") && len(cc.Args) == 1 {
							gathers = append(gathers, cc.Args[0])
						}
					} else {
						callee = cc.Value
						if f, ok := callee.(*ssa.Function); ok {
							calls[f] = append(calls[f], call)
						}
					}
				}
				for _, op := range instr.Operands(nil) {
					f, ok := (*op).(*ssa.Function)
					if !ok || *op == callee {
						continue
					}
					escapes[f] = true
					if f.Synthetic != "" {
						// A method value's or expression's wrapper calls
						// the method with arguments of its own.
						index(f)
					}
				}
			}
		}
		for _, anon := range fn.AnonFuncs {
			index(anon)
		}
	}
	for _, fn := range fns {
		index(fn)
	}
	if init != nil {
		// Package variables are set in the package's init function.
		index(init)
	}
	passes := func(fn *ssa.Function, i int) bool {
		for _, call := range calls[fn] {
			if _, isGo := call.(*ssa.Go); isGo {
				// It runs after its caller returned.
				return false
			}
			arg, ok := call.Common().Args[i].(*ssa.Parameter)
			if !ok || !c.drained[arg] {
				return false
			}
		}
		return true
	}
	// A program that gathers through the Collector interface itself, into
	// a channel of its own, may read it as slowly as it likes; only
	// client_golang's own registry is known to read at once.
	if c.pass.Pkg.Path() != promPath {
		for _, arg := range gathers {
			if p, ok := arg.(*ssa.Parameter); !ok || !isCollectorMethod(p.Parent()) {
				return
			}
		}
	}
	for _, fn := range fns {
		if !isCollectorMethod(fn) {
			continue
		}
		if len(calls[fn]) == 0 {
			c.drained[fn.Params[1]] = true
		}
	}
	// A helper's parameter joins once every call hands it one: a helper
	// that only calls itself, or is only called from one that does not
	// join, never does.
	for changed := true; changed; {
		changed = false
		for _, fn := range fns {
			helper := !escapes[fn] && len(calls[fn]) > 0 && fn.Object() != nil && !fn.Object().Exported() &&
				(fn.Signature.Recv() == nil || !invoked[fn.Name()])
			if !helper && !isCollectorMethod(fn) {
				continue
			}
			for i, p := range fn.Params {
				if !c.drained[p] && drainedType(p.Type()) && len(calls[fn]) > 0 && passes(fn, i) {
					c.drained[p] = true
					changed = true
				}
			}
		}
	}
}

// isCollectorMethod reports whether fn is a method Collect(chan<- Metric)
// or Describe(chan<- *Desc) of a Prometheus Collector.
func isCollectorMethod(fn *ssa.Function) bool {
	sig := fn.Signature
	if sig.Recv() == nil || sig.Params().Len() != 1 || sig.Results().Len() != 0 || !drainedType(sig.Params().At(0).Type()) {
		return false
	}
	_, ptr := sig.Params().At(0).Type().(*types.Chan).Elem().(*types.Pointer)
	return fn.Name() == "Collect" && !ptr || fn.Name() == "Describe" && ptr
}

// ioListed holds the calls that wait for the network or the disk, by
// funcKey, with the category a message names. Methods of net.TCPConn,
// net.UDPConn, net.UnixConn and net.IPConn that they share are those of
// their embedded net.conn. The interfaces of net are listed too: a
// net.Conn, net.Listener or net.PacketConn waits for its peer by
// contract (that is what its deadlines are for), whatever stands behind
// it, even net.Pipe. io.Reader and io.Writer are not: most of what stands
// behind them is memory; -blocking adds them.
var ioListed = map[string]string{}

func init() {
	add := func(category, pkg string, names ...string) {
		for _, n := range names {
			ioListed[pkg+"."+n] = category
		}
	}
	// TCPConn.ReadFrom reads from its argument and writes to the
	// connection; WriteTo the other way round.
	add("network read", "net", "conn.Read", "TCPConn.WriteTo", "UDPConn.ReadFrom",
		"UDPConn.ReadFromUDP", "UDPConn.ReadFromUDPAddrPort", "UDPConn.ReadMsgUDP", "UDPConn.ReadMsgUDPAddrPort",
		"UnixConn.ReadFrom", "UnixConn.ReadFromUnix", "UnixConn.ReadMsgUnix", "IPConn.ReadFrom", "IPConn.ReadFromIP", "IPConn.ReadMsgIP")
	// A UDP or raw IP datagram is handed to the kernel and the write
	// returns: no peer acknowledges it, so no peer can hold it up. Dialing
	// one with an address already resolved only binds a socket. A unix
	// datagram socket is not so: its write waits while the reader's
	// queue is full.
	add("network write", "net", "conn.Write", "TCPConn.ReadFrom", "UnixConn.WriteTo",
		"UnixConn.WriteToUnix", "UnixConn.WriteMsgUnix", "Buffers.WriteTo")
	add("network read", "net", "Conn.Read", "PacketConn.ReadFrom")
	add("network write", "net", "Conn.Write", "PacketConn.WriteTo")
	add("accept", "net", "Listener.Accept", "TCPListener.Accept", "TCPListener.AcceptTCP", "UnixListener.Accept", "UnixListener.AcceptUnix")
	add("dial", "net", "Dial", "DialTimeout", "DialTCP", "DialUnix", "Dialer.Dial", "Dialer.DialContext")
	add("DNS lookup", "net", "LookupHost", "LookupIP", "LookupAddr", "LookupCNAME", "LookupMX", "LookupNS",
		"LookupSRV", "LookupTXT", "LookupPort", "Resolver.LookupHost", "Resolver.LookupIP", "Resolver.LookupIPAddr",
		"Resolver.LookupNetIP", "Resolver.LookupAddr", "Resolver.LookupCNAME", "Resolver.LookupMX", "Resolver.LookupNS",
		"Resolver.LookupSRV", "Resolver.LookupTXT", "Resolver.LookupPort")
	add("network read", "crypto/tls", "Conn.Read")
	add("network write", "crypto/tls", "Conn.Write")
	add("TLS handshake", "crypto/tls", "Conn.Handshake", "Conn.HandshakeContext")
	add("dial", "crypto/tls", "Dial", "DialWithDialer", "Dialer.Dial", "Dialer.DialContext")
	add("file read", "os", "File.Read", "File.ReadAt", "File.WriteTo", "File.ReadDir", "File.Readdir",
		"File.Readdirnames", "ReadFile", "ReadDir")
	add("file write", "os", "File.Write", "File.WriteAt", "File.WriteString", "File.ReadFrom", "WriteFile")
	add("file sync", "os", "File.Sync")
	// database/sql waits for the database through its driver's
	// interfaces, which are not followed: its calls that reach the
	// database are listed.
	add("database call", "database/sql", "DB.Begin", "DB.BeginTx", "DB.Conn", "DB.Exec", "DB.ExecContext",
		"DB.Ping", "DB.PingContext", "DB.Prepare", "DB.PrepareContext", "DB.Query", "DB.QueryContext",
		"DB.QueryRow", "DB.QueryRowContext", "Conn.BeginTx", "Conn.ExecContext", "Conn.PingContext",
		"Conn.PrepareContext", "Conn.QueryContext", "Conn.QueryRowContext", "Conn.Raw", "Tx.Commit",
		"Tx.Rollback", "Tx.Exec", "Tx.ExecContext", "Tx.Prepare", "Tx.PrepareContext", "Tx.Query",
		"Tx.QueryContext", "Tx.QueryRow", "Tx.QueryRowContext", "Stmt.Exec", "Stmt.ExecContext", "Stmt.Query",
		"Stmt.QueryContext", "Stmt.QueryRow", "Stmt.QueryRowContext", "Rows.Next", "Rows.NextResultSet", "Row.Scan")
	add("HTTP request", "net/http", "Get", "Head", "Post", "PostForm", "Client.Do", "Client.Get", "Client.Head",
		"Client.Post", "Client.PostForm", "Transport.RoundTrip")
}

// funcKey returns "path.Name" for a function and "path.Type.Name" for a
// method (of a named type, or of a named interface), the key of listed.
func funcKey(fn *types.Func) string {
	fn = fn.Origin()
	if fn.Pkg() == nil {
		return fn.Name()
	}
	sig := fn.Signature()
	if recv := sig.Recv(); recv != nil {
		t := types.Unalias(recv.Type())
		if p, ok := t.(*types.Pointer); ok {
			t = types.Unalias(p.Elem())
		}
		if n, ok := t.(*types.Named); ok {
			return fn.Pkg().Path() + "." + n.Obj().Name() + "." + fn.Name()
		}
		return fn.Pkg().Path() + ".?." + fn.Name()
	}
	return fn.Pkg().Path() + "." + fn.Name()
}

// promotedFrom returns the qualified name of the type whose embedded field
// a static method call's receiver is ("amqp091.consumers"), or "": SSA
// calls the promoted method of the field directly.
func promotedFrom(call *ssa.CallCommon) string {
	if _, ok := call.Value.(*ssa.MakeClosure); ok {
		// A func value, which has no receiver; runs makes some with no
		// type, so its Signature is not asked.
		return ""
	}
	if call.IsInvoke() || len(call.Args) == 0 || call.Signature().Recv() == nil {
		return ""
	}
	name := ""
	for v := call.Args[0]; ; {
		fa, ok := v.(*ssa.FieldAddr)
		if !ok {
			return name
		}
		s := structOf(fa.X.Type())
		if s == nil || !s.Field(fa.Field).Embedded() {
			return name
		}
		name = qualifiedRecvName(fa.X.Type())
		v = fa.X
	}
}

// datagram reports whether a call of net's conn.Write, which every
// connection type promotes, is made on a *net.UDPConn or *net.IPConn:
// called on one, as a method value of one, or as the method expression
// (*net.UDPConn).Write.
func datagram(call *ssa.CallCommon) bool {
	var recv ssa.Value
	if mc, ok := call.Value.(*ssa.MakeClosure); ok && len(mc.Bindings) == 1 {
		recv = mc.Bindings[0]
	} else if len(call.Args) > 0 {
		recv = call.Args[0]
	} else {
		return false
	}
	t := recv.Type()
	if fa, ok := recv.(*ssa.FieldAddr); ok {
		t = fa.X.Type()
	}
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil || n.Obj().Pkg().Path() != "net" {
		return false
	}
	return n.Obj().Name() == "UDPConn" || n.Obj().Name() == "IPConn"
}

// qualifiedRecvName returns pkg.Name of the named type that t is or
// points to, or "".
func qualifiedRecvName(t types.Type) string {
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil {
		return n.Obj().Pkg().Name() + "." + n.Obj().Name()
	}
	return ""
}

// recvName returns the name of the named type that t is or points to, or "".
func recvName(t types.Type) string {
	t = types.Unalias(t)
	if p, ok := t.(*types.Pointer); ok {
		t = types.Unalias(p.Elem())
	}
	if n, ok := t.(*types.Named); ok {
		return n.Obj().Name()
	}
	return ""
}

// funcName returns how a message names a function: pkg.Name or
// pkg.Type.Name.
func funcName(fn *types.Func) string {
	fn = fn.Origin()
	name := fn.Name()
	if recv := fn.Signature().Recv(); recv != nil {
		t := types.Unalias(recv.Type())
		if p, ok := t.(*types.Pointer); ok {
			t = types.Unalias(p.Elem())
		}
		if n, ok := t.(*types.Named); ok {
			name = n.Obj().Name() + "." + name
		}
	}
	if fn.Pkg() != nil {
		name = fn.Pkg().Name() + "." + name
	}
	return name
}

// A blocker is an operation that may block.
type blocker struct {
	what string    // "channel send", "call to a.F, which may block (...)"
	noun string    // what the fix unlocks before: "send", "call"...
	why  string    // how it blocks, for the summary of its function: "a.F → channel send at a.go:5"
	pos  token.Pos // where it is
	cond ssa.Value // the *sync.Cond of a Cond.Wait; nil otherwise
	// io is the category of I/O it waits for ("network write"), or ""
	// if it waits for another goroutine.
	io string
	// root is where the operation at the end of the chain is; pos for an
	// operation of the function itself.
	root waitAt
}

// A waitAt is where an operation that waits is: at, its position as text,
// which names it across packages, and pos, if it is in this package.
type waitAt struct {
	pos token.Pos
	at  string
}

// waitAt returns the waitAt of pos, a position of this package.
func (c *checker) waitAt(pos token.Pos) waitAt {
	return waitAt{pos: pos, at: c.pass.Fset.Position(pos).String()}
}

// blocking reports whether instr may block, and how. A deferred call
// counts (it runs before the function returns); a go statement does not.
func (c *checker) blocking(instr ssa.Instruction) (blocker, bool) {
	switch in := instr.(type) {
	case *ssa.Send:
		if p, ok := in.Chan.(*ssa.Parameter); ok && c.drained[p] {
			break
		}
		if freshSend(in) || c.countedSend(in) || c.givesBack(in) || c.oneShot(in) || c.emptiedSend(in) || c.servedSend(in) {
			break
		}
		return c.direct("channel send", "send", in.Pos()), true
	case *ssa.UnOp:
		if in.Op != token.ARROW {
			break
		}
		if c.stoppedWait(in) {
			break
		}
		if c.rangeFor[in.Pos()] {
			return c.direct("range over a channel", "loop", in.Pos()), true
		}
		if bl, blocks, ok := c.chanJoin(in); ok {
			return bl, blocks
		}
		return c.direct("channel receive", "receive", in.Pos()), true
	case *ssa.Select:
		if in.Blocking {
			return c.direct("select without a default case", "select", in.Pos()), true
		}
	case *ssa.Call, *ssa.Defer:
		if c.stoppedWait(in) {
			break
		}
		return c.callBlocks(c.callOf(in), callPos(in.(ssa.CallInstruction)))
	}
	return blocker{}, false
}

// callPos returns the position of call; for the call of a range-over-func
// loop's iterator, which SSA gives none, that of the loop's body.
func callPos(call ssa.CallInstruction) token.Pos {
	if pos := call.Pos(); pos.IsValid() {
		return pos
	}
	for _, a := range call.Common().Args {
		if mc := yieldClosure(a); mc != nil {
			if mc.Pos().IsValid() {
				return mc.Pos()
			}
			return mc.Fn.Pos()
		}
	}
	return call.Pos()
}

func (c *checker) direct(what, noun string, pos token.Pos) blocker {
	return blocker{what: what, noun: noun, why: what + " at " + c.where(pos), pos: pos, root: c.waitAt(pos)}
}

// callBlocks reports whether a call may block.
func (c *checker) callBlocks(call *ssa.CallCommon, pos token.Pos) (blocker, bool) {
	var obj *types.Func
	var callee *ssa.Function
	if call.IsInvoke() {
		obj = call.Method
	} else {
		callee = call.StaticCallee()
		if callee == nil {
			// A call through a func value whose target is not known.
			return blocker{}, false
		}
		obj, _ = callee.Object().(*types.Func)
	}
	if obj != nil {
		key := funcKey(obj)
		name := funcName(obj)
		if n := promotedFrom(call); n != "" {
			// A method promoted from an embedded field is named by the
			// type it is called on: net.TCPConn.Read, not net.conn.Read.
			name = n + "." + obj.Name()
		}
		listedCall := func(phrase, io string) blocker {
			return blocker{
				what: "call to " + name + ", which " + phrase,
				noun: "call",
				why:  "call to " + name + " at " + c.where(pos),
				pos:  pos,
				root: c.waitAt(pos),
				io:   io,
			}
		}
		switch c.cfg.declares(obj) {
		case declNonblocking:
			return blocker{}, false
		case declBlocking:
			return listedCall("is declared blocking", ""), true
		}
		if prompt[key] {
			return blocker{}, false
		}
		if key == "sync.WaitGroup.Wait" {
			if gs, ok := c.forkJoin(call); ok {
				return c.joinBlocks(gs, pos)
			}
		}
		switch {
		case listed[key] != "":
			b := listedCall(listed[key], "")
			if key == "sync.Cond.Wait" && len(call.Args) == 1 {
				b.cond = call.Args[0]
			}
			return b, true
		case ioListed[key] != "":
			if !c.cfg.io || key == "net.conn.Write" && datagram(call) {
				return blocker{}, false
			}
			return listedCall("waits for I/O ("+ioListed[key]+")", ioListed[key]), true
		}
	}
	if callee == nil {
		// Another interface's method: its implementation is not known,
		// and most never block.
		return blocker{}, false
	}
	sum := c.calleeWhy(callee)
	if local, consts := c.constArgs(call, nil, nil); len(consts) > 0 {
		sum = c.specWhy(local, consts, 0)
	}
	why, io := sum.why, ""
	root := sum.root
	if why == "" && c.cfg.io && sum.ioWhy != "" {
		why, io, root = sum.ioWhy, ioCategory(sum.ioWhy), sum.ioRoot
	}
	if why == "" {
		return blocker{}, false
	}
	return c.callBlocker(c.funcDesc(callee), why, io, root, pos), true
}

// callBlocker returns the blocker of a call at pos of the function desc
// names, which blocks as why says: for I/O of the category io, if io is
// not "". root is where the operation at the end of why is.
func (c *checker) callBlocker(desc, why, io string, root waitAt, pos token.Pos) blocker {
	what := "call to " + desc + ", which may block (" + c.shown(why) + ")"
	if io != "" {
		shown, _, _ := strings.Cut(c.shown(why), " [I/O: ")
		what = "call to " + desc + ", which may wait for I/O (" + io + ": " + shown + ")"
	}
	return blocker{
		what: what,
		noun: "call",
		why:  c.via(desc, why),
		pos:  pos,
		io:   io,
		root: root,
	}
}

// ioCategory returns the category of I/O that a chain ends in: the chain
// ends in "call to net.conn.Write at x.go:1" and ioListed knows the name.
func ioCategory(why string) string {
	parts := strings.Split(why, " → ")
	last := parts[len(parts)-1]
	if i := strings.Index(last, " [I/O: "); i >= 0 {
		return strings.TrimSuffix(last[i+len(" [I/O: "):], "]")
	}
	return "I/O"
}

// shown returns how a message shows a chain: all of it with -chain, else
// its last link, the operation that waits.
func (c *checker) shown(why string) string {
	if c.cfg.chain {
		return why
	}
	parts := strings.Split(why, " → ")
	return parts[len(parts)-1]
}

// A summary is what is known of whether a function may block: how, by an
// operation that waits for another goroutine (why) and by one that waits
// for I/O (ioWhy), each "" if it cannot; and where each operation is, if
// it is in this package.
type summary struct {
	why, ioWhy   string
	root, ioRoot waitAt
}

// calleeWhy returns how callee may block.
func (c *checker) calleeWhy(callee *ssa.Function) summary {
	if o := callee.Origin(); o != nil {
		callee = o
	}
	obj, _ := callee.Object().(*types.Func)
	if obj == nil {
		// A func literal: summarized with its enclosing function.
		if info := c.funcs[callee]; info != nil {
			return info.summary
		}
		return summary{}
	}
	obj = obj.Origin()
	if obj.Pkg() != c.pass.Pkg {
		var f mayBlock
		if c.pass.ImportObjectFact(obj, &f) {
			return summary{why: f.Why, ioWhy: f.IO, root: waitAt{at: f.At}, ioRoot: waitAt{at: f.IOAt}}
		}
		return summary{}
	}
	// A method wrapper or bound method of this package stands for the
	// declared function.
	if decl := c.prog.FuncValue(obj); decl != nil {
		if info := c.funcs[decl]; info != nil {
			return info.summary
		}
	}
	return summary{}
}

// localCallee returns the function of this package that a call runs, or
// nil if it runs none (or one of another package).
func (c *checker) localCallee(call *ssa.CallCommon) *ssa.Function {
	if call.IsInvoke() {
		return nil
	}
	callee := call.StaticCallee()
	if callee == nil {
		return nil
	}
	if o := callee.Origin(); o != nil {
		callee = o
	}
	if c.funcs[callee] != nil {
		return callee
	}
	if obj, ok := callee.Object().(*types.Func); ok && obj.Pkg() == c.pass.Pkg {
		if decl := c.prog.FuncValue(obj.Origin()); decl != nil && c.funcs[decl] != nil {
			return decl
		}
	}
	return nil
}

// summarize finds which functions of the package may block: those with a
// blocking operation of their own, then their callers, transitively; and,
// apart from those, which may wait for I/O. A function declared with
// //lockblock:nonblocking or -nonblocking never blocks; one declared with
// //lockblock:blocking or -blocking always may.
func (c *checker) summarize(fns []*ssa.Function) {
	var work, ioWork []*ssa.Function
	type constEdge struct {
		caller *ssa.Function
		call   *ssa.CallCommon
		env    bindings // in force at the call
	}
	var constEdges []constEdge
	for _, fn := range fns {
		info := c.funcs[fn]
		switch c.declared(fn) {
		case declNonblocking:
			info.never = true
			continue
		case declBlocking:
			info.why = "declared blocking at " + c.where(fn.Pos())
			info.root = c.waitAt(fn.Pos())
		}
		r := c.reach(fn, nil)
		flags := c.setsFlags(fn)
		for _, b := range r.blocks(fn) {
			cur := r[b.Index]
			if flags {
				cur = cloneMap(cur)
			}
			var last ssa.Instruction
			for _, instr := range b.Instrs {
				if flags && last != nil {
					c.flagStep(last, fn, cur)
				}
				last = instr
				if mc := yieldClosure(instr); mc != nil {
					// The iterator runs the loop body in this function's
					// goroutine: it blocks if the body does.
					if bi := c.funcs[mc.Fn.(*ssa.Function)]; bi != nil {
						bi.callers = append(bi.callers, fn)
					}
				}
				if call := c.callOf(instr); call != nil {
					if callee := c.localCallee(call); callee != nil {
						if c.dirs.silenced(c.pass.Fset, instr.Pos()) {
							continue
						}
						env := callEnv(instr, cur)
						if _, consts := c.constArgs(call, fn, env); len(consts) > 0 {
							constEdges = append(constEdges, constEdge{fn, call, cloneMap(env)})
							continue
						}
						ci := c.funcs[callee]
						ci.callers = append(ci.callers, fn)
						continue
					}
				}
				if call := c.callOf(instr); call != nil {
					if gs, ok := c.forkJoin(call); ok {
						// The Wait blocks if a goroutine it waits for does:
						// it is a caller of each, for the summaries.
						for _, g := range gs {
							c.funcs[g].callers = append(c.funcs[g].callers, fn)
						}
						continue
					}
				}
				if info.why != "" && info.ioWhy != "" {
					continue
				}
				bl, ok := c.blocking(instr)
				if !ok || c.dirs.silenced(c.pass.Fset, bl.pos) {
					continue
				}
				if bl.io != "" && !c.keepsIO() {
					continue
				}
				if bl.io == "" && info.why == "" {
					info.why, info.root = bl.why, bl.root
				} else if bl.io != "" && info.ioWhy == "" {
					info.ioWhy, info.ioRoot = ioWhy(bl), bl.root
				}
			}
		}
		if info.why != "" {
			work = append(work, fn)
		}
		if info.ioWhy != "" {
			ioWork = append(ioWork, fn)
		}
	}
	why := func(s *summary) (*string, *waitAt) { return &s.why, &s.root }
	ioWhy := func(s *summary) (*string, *waitAt) { return &s.ioWhy, &s.ioRoot }
	for {
		c.spread(work, why)
		c.spread(ioWork, ioWhy)
		// A call with constant arguments gives its caller what the
		// callee does for those values, which depends on the summaries
		// so far: repeat until nothing changes.
		work, ioWork = nil, nil
		clear(c.spec)
		for _, e := range constEdges {
			ci := c.funcs[e.caller]
			if ci.never || (ci.why != "" && ci.ioWhy != "") {
				continue
			}
			callee, consts := c.constArgs(e.call, e.caller, e.env)
			s := c.specWhy(callee, consts, 0)
			m := merged(ci.summary, s, c.funcDesc(callee), c)
			if m.why != ci.why {
				work = append(work, e.caller)
			}
			if m.ioWhy != ci.ioWhy {
				ioWork = append(ioWork, e.caller)
			}
			ci.summary = m
		}
		if len(work) == 0 && len(ioWork) == 0 {
			clear(c.spec)
			return
		}
	}
}

// keepsIO reports whether the I/O that the functions of this package do
// makes them count as waiting for I/O. In the standard library only the
// network packages' does: the rest reads small local files once (time
// zones, /dev/urandom when getrandom is missing, /etc/passwd), which is
// not the wait this analysis is for. The listed calls themselves count
// wherever they are called from other code.
func (c *checker) keepsIO() bool {
	if !c.inGOROOT {
		return true
	}
	path := c.pass.Pkg.Path()
	return path == "net" || strings.HasPrefix(path, "net/") || path == "crypto/tls"
}

// ioWhy returns the reason an I/O operation gives its function: the chain
// with the category at its end, so that callers in other packages see it.
func ioWhy(bl blocker) string {
	if strings.HasSuffix(bl.why, "]") {
		return bl.why
	}
	return bl.why + " [I/O: " + bl.io + "]"
}

// spread gives each caller of a function in work the reason that field
// selects, if it has none yet, and goes on to its callers.
func (c *checker) spread(work []*ssa.Function, field func(*summary) (*string, *waitAt)) {
	for len(work) > 0 {
		fn := work[len(work)-1]
		work = work[:len(work)-1]
		fw, fr := field(&c.funcs[fn].summary)
		why := c.via(c.funcDesc(fn), *fw)
		if c.yields[fn] != nil {
			// A loop body is part of its function, not a call.
			why = *fw
		}
		for _, caller := range c.funcs[fn].callers {
			ci := c.funcs[caller]
			if ci.never {
				continue
			}
			if cw, cr := field(&ci.summary); *cw == "" {
				*cw, *cr = why, *fr
				work = append(work, caller)
			}
		}
	}
}

// funcDesc names fn in a message: pkg.Name, pkg.Type.Name, or the func
// literal at file:line.
func (c *checker) funcDesc(fn *ssa.Function) string {
	if o := fn.Origin(); o != nil {
		fn = o
	}
	if obj, ok := fn.Object().(*types.Func); ok {
		return funcName(obj)
	}
	return "the func literal at " + c.where(fn.Pos())
}

// via returns the reason a caller of fn blocks, given fn's name and the
// reason fn blocks: the chain of calls to the blocking operation, with
// its middle left out past four links unless -chain asks for all.
func (c *checker) via(fn, why string) string {
	parts := append([]string{fn}, strings.Split(why, " → ")...)
	if len(parts) > 4 && !c.cfg.chain {
		parts = append(parts[:2:2], "…", parts[len(parts)-2], parts[len(parts)-1])
	}
	return strings.Join(parts, " → ")
}

// callOf returns the call that instr makes now or at return: that of a
// call or a defer statement, as runs resolves it, or nil.
func (c *checker) callOf(instr ssa.Instruction) *ssa.CallCommon {
	switch in := instr.(type) {
	case *ssa.Call:
		return c.runs(in.Common())
	case *ssa.Defer:
		return c.runs(in.Common())
	}
	return nil
}
