package lockblock

import (
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// Served channels.
//
// A queue with room is often read by one goroutine that its owner starts
// when it makes the queue, and that does nothing between two receives but
// work in memory:
//
//	func (w *marks) init() {
//		w.ch = make(chan mark, 100)
//		go w.process()
//	}
//
//	func (w *marks) process() {
//		for {
//			select {
//			case <-w.done:
//				return
//			case m := <-w.ch:
//				w.apply(m) // memory only
//			}
//		}
//	}
//
// A send into it waits only while the reader works through the values
// before it, which takes no wait for anything else. Such a send is not
// a wait when:
//
//   - its channel is an unexported struct field used as an emptied
//     channel's must be (see emptied.go: made in the package with a
//     constant size above 0, never handed on or converted, no struct
//     holding it copied), whose loads go only into sends, receives,
//     selects, len, cap and close;
//   - every receive from the field is in one function of the package,
//     the reader, through its first parameter (its receiver), and every
//     function that stores a channel into the field starts the reader as
//     a goroutine on the same struct, after the store and before it
//     returns;
//   - from the reader's start to a receive from the field, and from each
//     such receive to the next, every path does nothing that may wait:
//     no other send, receive or select without a default case, no lock
//     taken, no Cond.Wait, no call that may block or wait for I/O (as
//     far as the analysis knows the callee), no call through a func
//     value or an interface whose target is not known (but a context's
//     Done and Err), and no call of a function of another package handed
//     a lock or anything that holds code (a writer holds its
//     connection), unless it is a func or a value of a type of the
//     package whose every method is as clean, or a context; and some
//     path from a receive leads back to one.
//
// A path on which the reader returns is allowed: it is how readers stop.
// A send after the reader stopped waits once the buffer is full; what
// stops the reader is not followed, so such a send is not reported.

// servedSend reports whether send puts a value into a served channel.
func (c *checker) servedSend(send *ssa.Send) bool {
	return c.served[send]
}

// findServed records the sends into served channels of the package; fns
// are its functions, as findEmptied gathers them.
func (c *checker) findServed(fns []*ssa.Function) {
	sends := map[*types.Var][]*ssa.Send{}
	var order []*types.Var
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				send, ok := instr.(*ssa.Send)
				if !ok {
					continue
				}
				fa := fieldOfChan(send.Chan)
				if fa == nil {
					continue
				}
				v := fieldVar(fa.X.Type(), fa.Field)
				if v == nil || !c.buffered[v] {
					continue
				}
				if _, seen := sends[v]; !seen {
					order = append(order, v)
				}
				sends[v] = append(sends[v], send)
			}
		}
	}
	for _, v := range order {
		if c.servedField(fns, v) {
			for _, s := range sends[v] {
				c.served[s] = true
			}
		}
	}
}

// servedField reports whether the field v holds a served channel.
func (c *checker) servedField(fns []*ssa.Function, v *types.Var) bool {
	if !c.emptiedField(fns, v) {
		return false
	}
	var reader *ssa.Function
	var recvs []ssa.Instruction
	var stores []*ssa.Store
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				fa, ok := instr.(*ssa.FieldAddr)
				if !ok || fieldVar(fa.X.Type(), fa.Field) != v {
					continue
				}
				for _, ref := range *fa.Referrers() {
					switch ref := ref.(type) {
					case *ssa.Store:
						stores = append(stores, ref)
						continue
					case *ssa.DebugRef:
						continue
					}
					load := ref.(*ssa.UnOp) // emptiedField saw to it
					got, ok := queueUses(load)
					if !ok {
						return false
					}
					if len(got) == 0 {
						continue
					}
					if reader == nil {
						reader = fn
					}
					if fn != reader || !isReceiver(fn, fa.X) {
						return false
					}
					recvs = append(recvs, got...)
				}
			}
		}
	}
	if reader == nil || len(stores) == 0 {
		return false
	}
	for _, st := range stores {
		if !c.startsReader(st, reader) {
			return false
		}
	}
	return c.readerClean(reader, recvs)
}

// isReceiver reports whether v is the first parameter of fn, or a load
// of the variable that holds it when a func literal captures it, which
// nothing sets again.
func isReceiver(fn *ssa.Function, v ssa.Value) bool {
	if len(fn.Params) == 0 {
		return false
	}
	if v == ssa.Value(fn.Params[0]) {
		return true
	}
	load, ok := v.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return false
	}
	alloc, ok := load.X.(*ssa.Alloc)
	if !ok || alloc.Parent() != fn {
		return false
	}
	stored := false
	for _, ref := range *alloc.Referrers() {
		switch r := ref.(type) {
		case *ssa.DebugRef:
		case *ssa.Store:
			if r.Addr != ssa.Value(alloc) || r.Val != ssa.Value(fn.Params[0]) || stored {
				return false
			}
			stored = true
		case *ssa.UnOp:
			if r.Op != token.MUL {
				return false
			}
		case *ssa.MakeClosure:
			// The func literal may only read it.
			lit := r.Fn.(*ssa.Function)
			for i, b := range r.Bindings {
				if b != ssa.Value(alloc) {
					continue
				}
				for _, use := range *lit.FreeVars[i].Referrers() {
					if u, ok := use.(*ssa.UnOp); !ok || u.Op != token.MUL {
						if _, debug := use.(*ssa.DebugRef); !debug {
							return false
						}
					}
				}
			}
		default:
			return false
		}
	}
	return stored
}

// queueUses returns the receives that load, a channel loaded from a
// field, goes into; ok is false if it goes anywhere but into sends,
// receives, selects, len, cap and close.
func queueUses(load *ssa.UnOp) (recvs []ssa.Instruction, ok bool) {
	for _, ref := range *load.Referrers() {
		switch r := ref.(type) {
		case *ssa.DebugRef:
		case *ssa.Send:
			if r.Chan != ssa.Value(load) {
				return nil, false
			}
		case *ssa.UnOp:
			if r.Op != token.ARROW {
				return nil, false
			}
			recvs = append(recvs, r)
		case *ssa.Select:
			for _, st := range r.States {
				if st.Send == ssa.Value(load) {
					return nil, false
				}
				if st.Chan == ssa.Value(load) && st.Dir == types.RecvOnly {
					recvs = append(recvs, r)
				}
			}
		case *ssa.Call:
			b, ok := r.Call.Value.(*ssa.Builtin)
			if !ok {
				return nil, false
			}
			switch b.Name() {
			case "len", "cap", "close":
			default:
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return recvs, true
}

// startsReader reports whether the function of st, a store of a channel
// into a field, starts reader as a goroutine on the struct of the field
// after the store, before it returns.
func (c *checker) startsReader(st *ssa.Store, reader *ssa.Function) bool {
	base := st.Addr.(*ssa.FieldAddr).X
	for _, b := range st.Block().Parent().Blocks {
		for _, instr := range b.Instrs {
			g, ok := instr.(*ssa.Go)
			if !ok || g.Call.IsInvoke() || c.goroutineFunc(g.Call.Value) != reader {
				continue
			}
			if _, closure := g.Call.Value.(*ssa.MakeClosure); closure || len(g.Call.Args) == 0 {
				continue
			}
			if g.Call.Args[0] == base && precedes(st, g) && beforeReturns(b) {
				return true
			}
		}
	}
	return false
}

// readerClean reports whether reader, from its start and from each of
// recvs, reaches the next of recvs or a return doing nothing that may
// wait, and whether some path from one of recvs reaches one again.
func (c *checker) readerClean(reader *ssa.Function, recvs []ssa.Instruction) bool {
	at := map[ssa.Instruction]bool{}
	for _, r := range recvs {
		at[r] = true
	}
	seen := map[*ssa.Function]bool{reader: true}
	done := map[*ssa.BasicBlock]bool{}
	loops := false
	// walk reads b from instruction i on, and what follows it; it stops
	// at a receive from the field.
	var walk func(b *ssa.BasicBlock, i int, fromRecv bool) bool
	walk = func(b *ssa.BasicBlock, i int, fromRecv bool) bool {
		for ; i < len(b.Instrs); i++ {
			instr := b.Instrs[i]
			if at[instr] {
				if fromRecv {
					loops = true
				}
				return true
			}
			if !c.cleanInstr(instr, seen, true) {
				return false
			}
		}
		for _, s := range b.Succs {
			if done[s] {
				continue
			}
			done[s] = true
			if !walk(s, 0, fromRecv) {
				return false
			}
		}
		return true
	}
	if len(reader.Blocks) == 0 || !walk(reader.Blocks[0], 0, false) {
		return false
	}
	for _, r := range recvs {
		clear(done)
		if !walk(r.Block(), index(r)+1, true) {
			return false
		}
	}
	return loops
}

// cleanInstr reports whether instr, in a served channel's reader (if
// inReader) or a function it calls, cannot wait; seen holds the functions
// looked into.
func (c *checker) cleanInstr(instr ssa.Instruction, seen map[*ssa.Function]bool, inReader bool) bool {
	switch in := instr.(type) {
	case *ssa.Send:
		return false
	case *ssa.UnOp:
		return in.Op != token.ARROW
	case *ssa.Select:
		return !in.Blocking
	case *ssa.Go:
		// A goroutine runs beside.
		return true
	case *ssa.Defer:
		// The reader's deferred calls run when it has stopped; those of a
		// function it calls, before it reads again.
		return inReader || c.cleanCall(in.Common(), seen)
	case *ssa.Call:
		if formats(in.Common()) && endsProgram(in.Block()) {
			// The message of a log.Fatal, on the way out.
			return true
		}
		return c.cleanCall(in.Common(), seen)
	}
	return true
}

// formats reports whether call is of a function of fmt or errors, which
// build a message.
func formats(call *ssa.CallCommon) bool {
	callee := call.StaticCallee()
	if callee == nil || callee.Pkg == nil {
		return false
	}
	switch callee.Pkg.Pkg.Path() {
	case "fmt", "errors":
		return true
	}
	return false
}

// endsProgram reports whether b calls one of exits.
func endsProgram(b *ssa.BasicBlock) bool {
	for _, instr := range b.Instrs {
		if call, ok := instr.(*ssa.Call); ok {
			if callee := call.Call.StaticCallee(); callee != nil {
				if obj, ok := callee.Object().(*types.Func); ok && exits[obj.FullName()] {
					return true
				}
			}
		}
	}
	return false
}

// cleanCall reports whether call cannot wait, by cleanInstr's measure.
func (c *checker) cleanCall(call *ssa.CallCommon, seen map[*ssa.Function]bool) bool {
	if _, builtin := call.Value.(*ssa.Builtin); builtin {
		return true
	}
	if _, wait := isCondWait(call); wait || c.lockCall(call).op != notLockOp {
		return false
	}
	if call.IsInvoke() {
		return readerInvokes[funcKey(call.Method)]
	}
	callee := call.StaticCallee()
	if callee == nil {
		return false
	}
	if local := c.localCallee(call); local != nil {
		return c.cleanFunc(local, seen)
	}
	if obj, ok := callee.Object().(*types.Func); ok && exits[obj.FullName()] {
		// The program or the goroutine ends here.
		return true
	}
	if obj, ok := callee.Object().(*types.Func); ok {
		key := funcKey(obj)
		if key == "net.conn.Write" && datagram(call) {
			// A datagram handed to the kernel.
			return true
		}
		if listed[key] != "" || ioListed[key] != "" || c.cfg.declares(obj) == declBlocking {
			return false
		}
		if c.lockedPkgs()[obj.Pkg()] {
			// The package takes a lock of this one, which the
			// function may take too.
			return false
		}
	}
	if s := c.calleeWhy(callee); s.why != "" || s.ioWhy != "" {
		return false
	}
	for _, ta := range callee.TypeArgs() {
		// A generic function calls the methods of its type arguments.
		if !c.cleanType(ta, seen, map[*types.Named]bool{}, 0) {
			return false
		}
	}
	for _, a := range call.Args {
		if holdsLock(deref(a.Type()), 0) {
			// Another package handed a lock may take it.
			return false
		}
		if holdsOtherCode(a.Type(), maxCodeDepth) && !c.cleanCode(a, seen) {
			return false
		}
	}
	return true
}

// lockedPkgs returns the other packages whose locks the package takes: a
// package variable of theirs, or a field of a type of theirs. A function
// of one of them may take that lock while a sender holds it.
func (c *checker) lockedPkgs() map[*types.Package]bool {
	if c.lockPkgs != nil {
		return c.lockPkgs
	}
	c.lockPkgs = map[*types.Package]bool{}
	for fn := range c.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				call, ok := instr.(ssa.CallInstruction)
				if !ok || c.lockCall(call.Common()).op == notLockOp || len(call.Common().Args) == 0 {
					continue
				}
				for v := call.Common().Args[0]; v != nil; {
					var next ssa.Value
					switch x := v.(type) {
					case *ssa.Global:
						if x.Pkg != nil && x.Pkg.Pkg != c.pass.Pkg {
							c.lockPkgs[x.Pkg.Pkg] = true
						}
					case *ssa.FieldAddr:
						if n, ok := types.Unalias(deref(x.X.Type())).(*types.Named); ok && n.Obj().Pkg() != c.pass.Pkg {
							c.lockPkgs[n.Obj().Pkg()] = true
						}
						next = x.X
					case *ssa.UnOp:
						if x.Op == token.MUL {
							next = x.X
						}
					}
					v = next
				}
			}
		}
	}
	return c.lockPkgs
}

// cleanType reports whether the code that a value of type t can run
// through its methods, and through those of the values it holds, is
// clean: every method of a type of the package (of t or *t) is, and no
// interface or func value is held (a context excepted), also in a value
// of another package's type.
func (c *checker) cleanType(t types.Type, seen map[*ssa.Function]bool, named map[*types.Named]bool, depth int) bool {
	if depth > maxCodeDepth {
		return false
	}
	t = types.Unalias(t)
	if n, ok := t.(*types.Named); ok {
		if named[n] {
			return true
		}
		named[n] = true
		if n.Obj().Pkg() == nil || n.Obj().Pkg() != c.pass.Pkg {
			if n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" {
				return true
			}
			// Another package's type runs its own methods, which must
			// not wait (an *os.File's Write does), and the code it
			// holds (a bufio.Writer's writer).
			return !holdsOtherCode(n, maxCodeDepth) && c.foreignMethodsClean(n)
		}
		if !c.cleanMethods(n, seen) {
			return false
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Signature, *types.Interface:
		return false
	case *types.Pointer:
		return c.cleanType(u.Elem(), seen, named, depth+1)
	case *types.Slice:
		return c.cleanType(u.Elem(), seen, named, depth+1)
	case *types.Array:
		return c.cleanType(u.Elem(), seen, named, depth+1)
	case *types.Chan:
		return c.cleanType(u.Elem(), seen, named, depth+1)
	case *types.Map:
		return c.cleanType(u.Key(), seen, named, depth+1) && c.cleanType(u.Elem(), seen, named, depth+1)
	case *types.Struct:
		for i := range u.NumFields() {
			if !c.cleanType(u.Field(i).Type(), seen, named, depth+1) {
				return false
			}
		}
	}
	return true
}

// foreignMethodsClean reports whether no method of n or *n, a type of
// another package, may wait, as far as the analysis knows.
func (c *checker) foreignMethodsClean(n *types.Named) bool {
	for _, t := range []types.Type{n, types.NewPointer(n)} {
		mset := c.prog.MethodSets.MethodSet(t)
		for i := range mset.Len() {
			if fn := c.prog.MethodValue(mset.At(i)); fn == nil || !c.foreignClean(fn) {
				return false
			}
		}
	}
	return true
}

// foreignClean reports whether fn, a function of another package, may
// not wait, as far as the analysis knows: it is not listed as a wait or
// I/O, and its facts say it does not block.
func (c *checker) foreignClean(fn *ssa.Function) bool {
	if obj, ok := fn.Object().(*types.Func); ok {
		key := funcKey(obj)
		if listed[key] != "" || ioListed[key] != "" || c.cfg.declares(obj) == declBlocking {
			return false
		}
	}
	s := c.calleeWhy(fn)
	return s.why == "" && s.ioWhy == ""
}

// cleanMethods reports whether every method of n and of *n, a type of
// the package, is clean.
func (c *checker) cleanMethods(n *types.Named, seen map[*ssa.Function]bool) bool {
	for _, t := range []types.Type{n, types.NewPointer(n)} {
		mset := c.prog.MethodSets.MethodSet(t)
		for i := range mset.Len() {
			obj, ok := mset.At(i).Obj().(*types.Func)
			if !ok {
				continue
			}
			fn := c.prog.MethodValue(mset.At(i))
			if fn == nil {
				return false
			}
			if o := fn.Origin(); o != nil {
				fn = o
			}
			if c.funcs[fn] == nil && obj.Pkg() == c.pass.Pkg {
				fn = c.prog.FuncValue(obj.Origin())
			}
			if fn == nil {
				return false
			}
			if c.funcs[fn] == nil {
				// A method promoted from another package's type.
				if !c.foreignClean(fn) {
					return false
				}
				continue
			}
			if !c.cleanFunc(fn, seen) {
				return false
			}
		}
	}
	return true
}

// maxCodeDepth bounds how deep holdsOtherCode looks into a value handed
// to another package for code that may wait.
const maxCodeDepth = 8

// holdsOtherCode is holdsCode, but a context.Context or a
// context.CancelFunc does not count: neither waits (a CancelFunc "does not
// wait for the work to stop"), and a stop signal is what a reader is
// handed most.
func holdsOtherCode(t types.Type, depth int) bool {
	if depth == 0 {
		return false
	}
	if n, ok := types.Unalias(t).(*types.Named); ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" {
		switch n.Obj().Name() {
		case "Context", "CancelFunc":
			return false
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Signature, *types.Interface:
		return true
	case *types.Pointer:
		return holdsOtherCode(u.Elem(), depth-1)
	case *types.Slice:
		return holdsOtherCode(u.Elem(), depth-1)
	case *types.Array:
		return holdsOtherCode(u.Elem(), depth-1)
	case *types.Map:
		return holdsOtherCode(u.Key(), depth-1) || holdsOtherCode(u.Elem(), depth-1)
	case *types.Chan:
		return holdsOtherCode(u.Elem(), depth-1)
	case *types.Struct:
		for i := range u.NumFields() {
			if holdsOtherCode(u.Field(i).Type(), depth-1) {
				return true
			}
		}
	}
	return false
}

// readerInvokes holds the interface methods a reader may call: a
// context's Done and Err, which every context of the standard library
// answers from memory, and which a reader calls to learn that it must
// stop.
var readerInvokes = map[string]bool{
	"context.Context.Done": true,
	"context.Context.Err":  true,
}

// exits holds the functions that end the program or the goroutine.
var exits = map[string]bool{
	"log.Fatal": true, "log.Fatalf": true, "log.Fatalln": true,
	"log.Panic": true, "log.Panicf": true, "log.Panicln": true,
	"os.Exit": true, "runtime.Goexit": true,
}

// cleanCode reports whether v, a value handed to a function of another
// package, runs only clean code of the package: it is a function or a
// func literal of the package that is clean, nil, a value whose type
// cleanType accepts, or the variadic arguments of the call, each clean.
func (c *checker) cleanCode(v ssa.Value, seen map[*ssa.Function]bool) bool {
	if fn := c.goroutineFunc(v); fn != nil {
		// A func value of the package: a function or a func literal.
		return c.cleanFunc(fn, seen)
	}
	switch x := v.(type) {
	case *ssa.MakeInterface:
		return c.cleanType(x.X.Type(), seen, map[*types.Named]bool{}, 0)
	case *ssa.Const:
		return x.IsNil()
	case *ssa.Slice:
		// f(a, b) for f(args ...any): an array made for the call.
		arr, ok := x.X.(*ssa.Alloc)
		if !ok {
			return false
		}
		for _, ref := range *arr.Referrers() {
			switch r := ref.(type) {
			case *ssa.IndexAddr:
				for _, use := range *r.Referrers() {
					st, ok := use.(*ssa.Store)
					if !ok || st.Addr != ssa.Value(r) || !c.cleanCode(st.Val, seen) {
						return false
					}
				}
			case *ssa.DebugRef:
			case *ssa.Slice:
				if r != x {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	return c.cleanType(v.Type(), seen, map[*types.Named]bool{}, 0)
}

// cleanFunc reports whether every instruction of fn, a function of the
// package, and of the func literals it calls, cannot wait.
func (c *checker) cleanFunc(fn *ssa.Function, seen map[*ssa.Function]bool) bool {
	if seen[fn] {
		return true
	}
	if len(seen) > maxRecursionWalk {
		return false
	}
	seen[fn] = true
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if !c.cleanInstr(instr, seen, false) {
				return false
			}
		}
	}
	return true
}
