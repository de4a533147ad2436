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
	s := c.calleeWhy(callee)
	if s.why != "" || s.ioWhy != "" {
		return false
	}
	if obj, ok := callee.Object().(*types.Func); ok {
		key := funcKey(obj)
		if listed[key] != "" || ioListed[key] != "" || c.cfg.declares(obj) == declBlocking {
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
// func literal of the package that is clean, or a value of a type of the
// package, or a pointer to one, whose every method is clean, or of a type
// with no methods.
func (c *checker) cleanCode(v ssa.Value, seen map[*ssa.Function]bool) bool {
	if fn := c.goroutineFunc(v); fn != nil {
		// A func value of the package: a function or a func literal.
		return c.cleanFunc(fn, seen)
	}
	mi, ok := v.(*ssa.MakeInterface)
	if !ok {
		return false
	}
	t := mi.X.Type()
	mset := c.prog.MethodSets.MethodSet(t)
	if mset.Len() == 0 {
		return !holdsCode(t, 3)
	}
	if n, ok := types.Unalias(deref(t)).(*types.Named); !ok || n.Obj().Pkg() != c.pass.Pkg {
		return false
	}
	for i := range mset.Len() {
		fn := c.prog.MethodValue(mset.At(i))
		if fn == nil {
			return false
		}
		if o := fn.Origin(); o != nil {
			fn = o
		}
		if c.funcs[fn] == nil {
			if obj, ok := fn.Object().(*types.Func); ok && obj.Pkg() == c.pass.Pkg {
				fn = c.prog.FuncValue(obj.Origin())
			}
		}
		if fn == nil || c.funcs[fn] == nil || !c.cleanFunc(fn, seen) {
			return false
		}
	}
	return true
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
