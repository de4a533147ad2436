package lockblock

import (
	"go/constant"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// freshSend reports whether send puts a value into a channel that no other
// goroutine can reach yet, so that it cannot wait for one: a send into a
// new buffered channel that is being filled, such as a semaphore's tokens.
// Either it has room and proceeds, or it never will, and the second would
// hang the program whether or not a lock is held.
//
// Three shapes are recognised: a channel made in the function and not
// yet passed, stored or captured anywhere; the same kept in a field of a
// struct allocated in the function that has not escaped either, nor has
// any channel loaded from that field; and a field that was just set to a
// new buffered channel, with nothing but loads and tests between the
// store and the send. A channel made afresh on each turn of a loop is
// new on each turn: what the last turn did with the last one does not
// count.
func freshSend(send *ssa.Send) bool {
	ch := send.Chan
	if mc, ok := ch.(*ssa.MakeChan); ok {
		return !escapesBefore(mc, mc, send)
	}
	load, ok := ch.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return false
	}
	if cell, ok := load.X.(*ssa.Alloc); ok {
		// A local variable that a closure captures lives in a cell:
		// out := make(chan T, n), filled here, read by a func literal
		// made after the sends.
		return onlyMakeChanCell(cell) && !escapesBefore(cell, cell, send)
	}
	fa, ok := load.X.(*ssa.FieldAddr)
	if !ok {
		return false
	}
	if alloc, ok := fa.X.(*ssa.Alloc); ok && !escapesBefore(alloc, alloc, send) && onlyMakeChan(alloc, fa.Field) {
		return true
	}
	return justMade(fa, send)
}

// escapesBefore reports whether v may be reachable by another goroutine
// when instr runs: whether some use of v other than a send into it, a
// receive, a comparison, a field access or a builtin such as len can run
// before instr without def running again in between. v is def (a new
// channel, or a new struct) or a channel loaded from a field of def.
func escapesBefore(v ssa.Value, def, instr ssa.Instruction) bool {
	for _, ref := range *v.Referrers() {
		if harmless(v, ref, def, instr) {
			continue
		}
		if mayPrecede(ref, instr, def) {
			return true
		}
	}
	return false
}

// harmless reports whether use ref of v cannot hand v, or a channel it
// holds, to another goroutine before instr.
func harmless(v ssa.Value, ref, def, instr ssa.Instruction) bool {
	_, isChan := v.Type().Underlying().(*types.Chan)
	switch r := ref.(type) {
	case *ssa.Send:
		return r.Chan == v && r.X != v
	case *ssa.UnOp:
		if _, isCell := v.(*ssa.Alloc); isCell && r.Op == token.MUL {
			// A load of the channel out of the cell of a captured
			// variable: harmless if what is loaded stays home.
			if _, ok := r.Type().Underlying().(*types.Chan); ok {
				return !escapesBefore(r, def, instr)
			}
			return false
		}
		// A receive from the channel; a load of a whole struct could
		// copy the channel out.
		return isChan && r.Op == token.ARROW
	case *ssa.BinOp:
		return isChan
	case *ssa.Call:
		if b, ok := r.Call.Value.(*ssa.Builtin); ok {
			switch b.Name() {
			case "len", "cap":
				return true
			}
		}
	case *ssa.FieldAddr:
		return fieldStaysHome(r, def, instr)
	case *ssa.Store:
		// A new channel stored into the cell of a captured variable; not
		// a whole struct stored into a new one, which may bring any
		// channel with it.
		cell, ok := v.(*ssa.Alloc)
		if !ok || r.Addr != v {
			return false
		}
		_, chanCell := cell.Type().Underlying().(*types.Pointer).Elem().Underlying().(*types.Chan)
		return chanCell
	}
	return false
}

// onlyMakeChanCell reports whether cell, the cell of a variable of channel
// type, is only ever given new channels.
func onlyMakeChanCell(cell *ssa.Alloc) bool {
	if _, ok := cell.Type().Underlying().(*types.Pointer).Elem().Underlying().(*types.Chan); !ok {
		return false
	}
	found := false
	for _, ref := range *cell.Referrers() {
		if st, ok := ref.(*ssa.Store); ok && st.Addr == cell {
			if _, ok := st.Val.(*ssa.MakeChan); !ok {
				return false
			}
			found = true
		}
	}
	return found
}

// fieldStaysHome reports whether every use of field address fa only
// stores into it, goes on to a field within it, or loads from it a value
// that cannot hold the channel or a channel that does not escape before
// instr: storing the address elsewhere or passing it on would let the
// struct escape.
func fieldStaysHome(fa *ssa.FieldAddr, def, instr ssa.Instruction) bool {
	for _, fr := range *fa.Referrers() {
		switch f := fr.(type) {
		case *ssa.UnOp:
			if f.Op != token.MUL {
				return false
			}
			switch t := f.Type().Underlying().(type) {
			case *types.Chan:
				if escapesBefore(f, def, instr) {
					return false
				}
			case *types.Struct, *types.Array:
				// A copy of a struct or array may carry a channel out.
				if holdsChan(t) {
					return false
				}
			}
		case *ssa.Store:
			if f.Addr != fa {
				return false
			}
		case *ssa.FieldAddr:
			if !fieldStaysHome(f, def, instr) {
				return false
			}
		case *ssa.Call:
			if !keepsReceiver(f.Common(), fa) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// keepsReceiver reports whether call is a method of sync/atomic's types,
// or a Lock or Unlock of sync's, on the field at fa: such a call touches
// the field and hands the struct to no one (s.version.Store(-1) on a
// struct still being built).
func keepsReceiver(call *ssa.CallCommon, fa *ssa.FieldAddr) bool {
	callee := call.StaticCallee()
	if call.IsInvoke() || callee == nil || len(call.Args) == 0 || call.Args[0] != ssa.Value(fa) {
		return false
	}
	obj, ok := callee.Object().(*types.Func)
	if !ok || obj.Pkg() == nil || obj.Signature().Recv() == nil {
		return false
	}
	switch obj.Pkg().Path() {
	case "sync/atomic":
		return true
	case "sync":
		switch obj.Name() {
		case "Lock", "Unlock", "RLock", "RUnlock", "TryLock", "TryRLock":
			return true
		}
	}
	return false
}

// holdsChan reports whether a value of type t contains a channel in
// itself, not behind a pointer.
func holdsChan(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Chan:
		return true
	case *types.Struct:
		for i := range u.NumFields() {
			if holdsChan(u.Field(i).Type()) {
				return true
			}
		}
	case *types.Array:
		return holdsChan(u.Elem())
	}
	return false
}

// mayPrecede reports whether a may run before b in one call of their
// function on a path that does not run def in between: def makes the
// value that a and b use, so a path through def gives b a new one.
func mayPrecede(a, b, def ssa.Instruction) bool {
	ab, bb := a.Block(), b.Block()
	if ab == bb && index(a) < index(b) {
		return true
	}
	// Does some path lead from a's block to b's block (in a loop, back to
	// the same block) without passing def?
	seen := map[*ssa.BasicBlock]bool{}
	work := append([]*ssa.BasicBlock(nil), ab.Succs...)
	for len(work) > 0 {
		blk := work[len(work)-1]
		work = work[:len(work)-1]
		if seen[blk] {
			continue
		}
		seen[blk] = true
		if blk == bb && (def.Block() != bb || index(def) > index(b)) {
			return true
		}
		if blk == def.Block() {
			continue
		}
		work = append(work, blk.Succs...)
	}
	return false
}

// index returns the position of instr in its block.
func index(instr ssa.Instruction) int {
	for i, in := range instr.Block().Instrs {
		if in == instr {
			return i
		}
	}
	return -1
}

// onlyMakeChan reports whether every value stored in field i of alloc is
// a new channel.
func onlyMakeChan(alloc *ssa.Alloc, i int) bool {
	found := false
	for _, ref := range *alloc.Referrers() {
		fa, ok := ref.(*ssa.FieldAddr)
		if !ok || fa.Field != i {
			continue
		}
		for _, fr := range *fa.Referrers() {
			if st, ok := fr.(*ssa.Store); ok && st.Addr == fa {
				if _, ok := st.Val.(*ssa.MakeChan); !ok {
					return false
				}
				found = true
			}
		}
	}
	return found
}

// justMade reports whether the field that fa addresses was set to a new
// buffered channel just before send, in the same block or in the blocks
// that lead only to it, with no call, send or select in between.
func justMade(fa *ssa.FieldAddr, send *ssa.Send) bool {
	blk := send.Block()
	idx := -1
	for i, in := range blk.Instrs {
		if in == send {
			idx = i
		}
	}
	for blk != nil {
		for i := idx - 1; i >= 0; i-- {
			switch in := blk.Instrs[i].(type) {
			case *ssa.Store:
				if addr, ok := in.Addr.(*ssa.FieldAddr); ok && addr.Field == fa.Field && addr.X == fa.X {
					mc, ok := in.Val.(*ssa.MakeChan)
					if !ok {
						return false
					}
					for _, ref := range *mc.Referrers() {
						if _, debug := ref.(*ssa.DebugRef); !debug && ref != ssa.Instruction(in) {
							// Filled, or handed on, before it was
							// stored: it may have no room.
							return false
						}
					}
					k, ok := mc.Size.(*ssa.Const)
					return ok && k.Value != nil && k.Value.Kind() == constant.Int && constant.Sign(k.Value) > 0
				}
			case *ssa.Call, *ssa.Go, *ssa.Defer, *ssa.Send, *ssa.Select:
				return false
			}
		}
		if len(blk.Preds) != 1 {
			return false
		}
		blk = blk.Preds[0]
		idx = len(blk.Instrs)
	}
	return false
}

// findTokens records the channel fields that a loop fills with constants
// while the channel is new, as a semaphore is made full of tokens:
//
//	s := &sem{ch: make(chan struct{}, n)}
//	for range n {
//		s.ch <- struct{}{}
//	}
//
// or in the function that set the field to a new buffered channel before
// the loop, with nothing between that could hand the channel on or wait,
// as a pool made lazily does; there the loop must send once a turn and
// stop at the channel's capacity, so that its sends have room whoever
// else can reach the channel meanwhile:
//
//	p.ch = make(chan struct{}, p.max)
//	for i := 0; i < p.max; i++ {
//		p.ch <- struct{}{}
//	}
//
// A field counts only if every value stored into it, anywhere in the
// package, is a new buffered channel that such a loop fills, its address
// is taken for nothing but loads and those stores, and no whole struct
// holding it is stored: a field that holds a semaphore in one value of
// the struct and a queue or a signal in another is no token field. A loop
// that sends other values fills a queue with its first items, and a later
// send into the queue waits when it is full.
func (c *checker) findTokens(fns []*ssa.Function, pkg *ssa.Package) {
	owners := map[*types.Var]types.Type{}
	filled := map[*ssa.Store]bool{}
	lazy := map[*types.Var]bool{}
	onces := map[any][]*types.Var{} // the Once of each lazy fill
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				st, ok := instr.(*ssa.Store)
				if !ok {
					continue
				}
				home := homeOf(st.Addr)
				if home == nil {
					continue
				}
				if old, seen := c.buffered[home]; !seen || old {
					c.buffered[home] = newBuffered(st.Val)
				}
			}
		}
	}
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				send, ok := instr.(*ssa.Send)
				if !ok {
					continue
				}
				fa := fieldOfChan(send.Chan)
				if _, token := send.X.(*ssa.Const); !token || fa == nil || !c.inLoop(b) {
					continue
				}
				st := fillStore(fa, send)
				v := fieldVar(fa.X.Type(), fa.Field)
				if st == nil || v == nil || len(fieldSends(send.Parent(), v)) != 1 {
					continue
				}
				fresh := freshSend(send)
				once := onceBody(fn)
				if !fresh && !(once != nil && c.quietBetween(st, send, fa) && fillsToCapacity(send, st.Val.(*ssa.MakeChan))) {
					continue
				}
				if !fresh {
					lazy[v] = true
					onces[once] = append(onces[once], v)
				}
				c.tokens[v] = true
				c.fills[send] = true
				filled[st] = true
				owners[v] = deref(fa.X.Type())
			}
		}
	}
	c.findEscapes(fns)
	if len(c.tokens) == 0 {
		return
	}
	// A package variable of the struct starts as a zero value, whose
	// channel is nil.
	for _, m := range pkg.Members {
		if g, ok := m.(*ssa.Global); ok {
			for v, t := range owners {
				if types.Identical(deref(g.Type()), t) {
					delete(c.tokens, v)
				}
			}
		}
	}
	// Any other value stored into the field, directly, through its
	// address or with the whole struct, may be a channel that others use.
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch in := instr.(type) {
				case *ssa.FieldAddr:
					v := fieldVar(in.X.Type(), in.Field)
					if v == nil || !c.tokens[v] {
						continue
					}
					for _, ref := range *in.Referrers() {
						switch ref := ref.(type) {
						case *ssa.UnOp:
							if ref.Op != token.MUL || !onlyUsedAsChan(ref) {
								delete(c.tokens, v)
							}
						case *ssa.Store:
							if ref.Addr != in || !filled[ref] {
								delete(c.tokens, v)
							}
						case *ssa.DebugRef:
						default:
							delete(c.tokens, v)
						}
					}
				case *ssa.Store:
					for v, t := range owners {
						if types.Identical(deref(in.Addr.Type()), t) {
							delete(c.tokens, v)
						}
					}
					// A Once set anew runs its fill again while tokens
					// of the last channel are out.
					for _, v := range onces[homeOf(in.Addr)] {
						delete(c.tokens, v)
					}
				case *ssa.ChangeType:
					// A value of another type with the same fields,
					// whose stores went into that type's field.
					for v, t := range owners {
						if types.Identical(deref(in.Type()), t) && !types.Identical(deref(in.X.Type()), t) {
							delete(c.tokens, v)
						}
					}
				case *ssa.Convert:
					// The same through unsafe.Pointer.
					for v, t := range owners {
						if types.Identical(deref(in.Type()), t) {
							delete(c.tokens, v)
						}
					}
				case *ssa.Alloc:
					// A value made in the package without the channel
					// that a fill made (a zero value, whose channel is
					// nil) for a field filled when its struct is made.
					for v, t := range owners {
						if !lazy[v] && types.Identical(deref(in.Type()), t) && !fillsAlloc(in, filled) {
							delete(c.tokens, v)
						}
					}
				}
			}
		}
	}
}

// findEscapes marks as not known to be buffered the channel fields and
// package variables whose address is taken for anything but a load or a
// store: a store through the address may put any channel there.
func (c *checker) findEscapes(fns []*ssa.Function) {
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if fa, ok := instr.(*ssa.FieldAddr); ok {
					for _, ref := range *fa.Referrers() {
						if !plainUse(ref, fa) {
							c.buffered[fieldVar(fa.X.Type(), fa.Field)] = false
						}
					}
					continue
				}
				for _, op := range instr.Operands(nil) {
					if g, ok := (*op).(*ssa.Global); ok && !plainUse(instr, g) {
						c.buffered[g] = false
					}
				}
			}
		}
	}
}

// plainUse reports whether instr uses the address addr only to load from
// it or store into it.
func plainUse(instr ssa.Instruction, addr ssa.Value) bool {
	switch in := instr.(type) {
	case *ssa.UnOp:
		return in.Op == token.MUL
	case *ssa.Store:
		return in.Addr == addr && in.Val != addr
	case *ssa.DebugRef:
		return true
	}
	return false
}

// onceBody returns the Once, a field (*types.Var) or a package variable
// (*ssa.Global), if fn is a func literal that its function only hands to
// that Once's Do, so that it runs at most once for it; or nil. A Once in
// a local variable is new on each call.
func onceBody(fn *ssa.Function) any {
	parent := fn.Parent()
	if parent == nil {
		return nil
	}
	var once any
	use := func(call *ssa.CallCommon, f ssa.Value) bool {
		if !isOnceDo(call, f) {
			return false
		}
		home := homeOf(call.Args[0])
		if home == nil || once != nil && once != home {
			return false
		}
		once = home
		return true
	}
	for _, b := range parent.Blocks {
		for _, instr := range b.Instrs {
			if mc, ok := instr.(*ssa.MakeClosure); ok && mc.Fn == ssa.Value(fn) {
				// A literal with free variables: each use of the
				// closure must be a Do.
				for _, ref := range *mc.Referrers() {
					if call, ok := ref.(*ssa.Call); ok && use(call.Common(), mc) {
						continue
					}
					if _, dbg := ref.(*ssa.DebugRef); !dbg {
						return nil
					}
				}
				continue
			}
			for _, op := range instr.Operands(nil) {
				if *op != ssa.Value(fn) {
					continue
				}
				// A literal without free variables is used directly.
				call, ok := instr.(*ssa.Call)
				if !ok || !use(call.Common(), fn) {
					return nil
				}
			}
		}
	}
	return once
}

// isOnceDo reports whether call is once.Do(f).
func isOnceDo(call *ssa.CallCommon, f ssa.Value) bool {
	callee := call.StaticCallee()
	if callee == nil || len(call.Args) != 2 || call.Args[1] != f {
		return false
	}
	obj, ok := callee.Object().(*types.Func)
	return ok && obj.FullName() == "(*sync.Once).Do"
}

// onlyUsedAsChan reports whether the channel that load reads from a token
// field is only sent into, received from, closed, measured or compared:
// not kept or handed on, where a send elsewhere could fill it.
func onlyUsedAsChan(load *ssa.UnOp) bool {
	for _, ref := range *load.Referrers() {
		switch ref := ref.(type) {
		case *ssa.Send:
			if ref.X == ssa.Value(load) {
				return false
			}
		case *ssa.UnOp:
			if ref.Op != token.ARROW {
				return false
			}
		case *ssa.Select, *ssa.BinOp, *ssa.DebugRef:
		case *ssa.Call:
			if _, ok := ref.Call.Value.(*ssa.Builtin); !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// fillsAlloc reports whether one of the filled stores sets a field of
// alloc.
func fillsAlloc(alloc *ssa.Alloc, filled map[*ssa.Store]bool) bool {
	for st := range filled {
		if fa, ok := st.Addr.(*ssa.FieldAddr); ok && fa.X == ssa.Value(alloc) {
			return true
		}
	}
	return false
}

// homeOf returns where the address addr points: the field
// (*types.Var) of a field address, or the package variable (*ssa.Global)
// itself; nil for anything else.
func homeOf(addr ssa.Value) any {
	switch x := addr.(type) {
	case *ssa.FieldAddr:
		return fieldVar(x.X.Type(), x.Field)
	case *ssa.Global:
		return x
	}
	return nil
}

// deref returns the type that t points to, or t.
func deref(t types.Type) types.Type {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		return p.Elem()
	}
	return t
}

// fillStore returns the store that sets the field that fa addresses to
// the new buffered channel that send fills: in send's function, every
// store into the field of the same value sets it to a new buffered
// channel used for nothing else, and one of them comes before send on
// every path to it. It returns nil if there is none.
func fillStore(fa *ssa.FieldAddr, send *ssa.Send) *ssa.Store {
	var made *ssa.Store
	for _, b := range send.Parent().Blocks {
		for i, instr := range b.Instrs {
			st, ok := instr.(*ssa.Store)
			if !ok {
				continue
			}
			addr, ok := st.Addr.(*ssa.FieldAddr)
			if !ok || addr.Field != fa.Field || !sameBase(addr.X, fa.X) {
				continue
			}
			if !newBuffered(st.Val) || !onlyStored(st.Val.(*ssa.MakeChan), st) {
				return nil
			}
			if b != send.Block() && b.Dominates(send.Block()) || b == send.Block() && i < index(send) {
				made = st
			}
		}
	}
	return made
}

// onlyStored reports whether the only use of mc is the store st: the
// channel went nowhere before it was stored.
func onlyStored(mc *ssa.MakeChan, st *ssa.Store) bool {
	for _, ref := range *mc.Referrers() {
		if _, ok := ref.(*ssa.DebugRef); !ok && ref != ssa.Instruction(st) {
			return false
		}
	}
	return true
}

// newBuffered reports whether v is a new channel that may have room: made
// with a size that is not the constant 0.
func newBuffered(v ssa.Value) bool {
	mc, ok := v.(*ssa.MakeChan)
	if !ok {
		return false
	}
	k, ok := mc.Size.(*ssa.Const)
	return !ok || k.Value == nil || constant.Sign(k.Value) > 0
}

// fillsToCapacity reports whether send is in a loop that runs at most as
// many turns as mc has room for: for i := 0; i < n; i++ (or for range n),
// with n the size that mc was made with and not stored into by the
// function, no loop around it and none inside it. That send is the
// function's only send into the field is checked by findTokens.
func fillsToCapacity(send *ssa.Send, mc *ssa.MakeChan) bool {
	var head *ssa.BasicBlock
	var bound ssa.Value
	for d := send.Block().Idom(); d != nil && head == nil; d = d.Idom() {
		iff, ok := d.Instrs[len(d.Instrs)-1].(*ssa.If)
		if !ok || !d.Succs[0].Dominates(send.Block()) {
			continue
		}
		if n := countedBound(iff.Cond, d); n != nil {
			head, bound = d, n
		}
	}
	if head == nil || !sameValue(bound, mc.Size) || storedField(send.Parent(), bound) {
		return false
	}
	if flood(head.Succs[1], func(b *ssa.BasicBlock) []*ssa.BasicBlock { return b.Succs })[head] {
		// A loop around the loop fills the channel again.
		return false
	}
	// The loop: the blocks that its body reaches and that lead back.
	body := flood(head.Succs[0], func(b *ssa.BasicBlock) []*ssa.BasicBlock {
		if b == head {
			return nil
		}
		return b.Succs
	})
	back := flood(head, func(b *ssa.BasicBlock) []*ssa.BasicBlock { return b.Preds })
	if !body[send.Block()] || !back[send.Block()] {
		return false
	}
	for b := range body {
		if !back[b] || b == head {
			continue
		}
		for _, s := range b.Succs {
			if s != head && body[s] && back[s] && s.Dominates(b) {
				// A loop inside the loop.
				return false
			}
		}
	}
	return true
}

// countedBound returns n if cond, the condition of the loop whose head is
// b, is i < n for a counter i that starts at 0 in b and goes up by 1 each
// turn; or nil.
func countedBound(cond ssa.Value, b *ssa.BasicBlock) ssa.Value {
	lt, ok := cond.(*ssa.BinOp)
	if !ok || lt.Op != token.LSS {
		return nil
	}
	phi, ok := lt.X.(*ssa.Phi)
	if !ok || phi.Block() != b || len(phi.Edges) != 2 {
		return nil
	}
	zero, step := false, false
	for _, e := range phi.Edges {
		if k, ok := e.(*ssa.Const); ok && k.Value != nil && constant.Sign(k.Value) == 0 {
			zero = true
		}
		if add, ok := e.(*ssa.BinOp); ok && add.Op == token.ADD && add.X == ssa.Value(phi) {
			if k, ok := add.Y.(*ssa.Const); ok && k.Value != nil && k.Value.String() == "1" {
				step = true
			}
		}
	}
	if !zero || !step {
		return nil
	}
	return lt.Y
}

// storedField reports whether n is a load of a field that fn, or a func
// literal it makes, stores into: the bound may change after the make.
func storedField(fn *ssa.Function, n ssa.Value) bool {
	load, ok := n.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return false
	}
	fa, ok := load.X.(*ssa.FieldAddr)
	if !ok {
		return false
	}
	v := fieldVar(fa.X.Type(), fa.Field)
	var stores func(f *ssa.Function) bool
	stores = func(f *ssa.Function) bool {
		for _, b := range f.Blocks {
			for _, instr := range b.Instrs {
				st, ok := instr.(*ssa.Store)
				if !ok {
					continue
				}
				if addr, ok := st.Addr.(*ssa.FieldAddr); ok && fieldVar(addr.X.Type(), addr.Field) == v {
					return true
				}
			}
		}
		for _, anon := range f.AnonFuncs {
			if stores(anon) {
				return true
			}
		}
		return false
	}
	return stores(fn)
}

// sameValue reports whether a and b hold the same number: one value, or
// loads of the same field of the same pointer.
func sameValue(a, b ssa.Value) bool {
	if a == b {
		return true
	}
	la, ok := a.(*ssa.UnOp)
	lb, ok2 := b.(*ssa.UnOp)
	if !ok || !ok2 || la.Op != token.MUL || lb.Op != token.MUL {
		return false
	}
	fa, ok := la.X.(*ssa.FieldAddr)
	fb, ok2 := lb.X.(*ssa.FieldAddr)
	return ok && ok2 && fa.Field == fb.Field && sameBase(fa.X, fb.X)
}

// quietBetween reports whether the instructions on the paths from the
// store from to send, send's own loop included, only compute, test, load
// and store, and send into the field that fa addresses.
func (c *checker) quietBetween(from *ssa.Store, send *ssa.Send, fa *ssa.FieldAddr) bool {
	fwd := flood(from.Block(), func(b *ssa.BasicBlock) []*ssa.BasicBlock { return b.Succs })
	bwd := flood(send.Block(), func(b *ssa.BasicBlock) []*ssa.BasicBlock { return b.Preds })
	for _, b := range send.Parent().Blocks {
		if !fwd[b] || !bwd[b] {
			continue
		}
		for i, instr := range b.Instrs {
			if b == from.Block() && i <= index(from) && !c.inLoop(b) {
				continue
			}
			switch in := instr.(type) {
			case *ssa.Go, *ssa.Defer, *ssa.Select:
				return false
			case *ssa.Call:
				if _, ok := in.Call.Value.(*ssa.Builtin); !ok {
					return false
				}
			case *ssa.UnOp:
				if in.Op == token.ARROW {
					return false
				}
			case *ssa.Send:
				other := fieldOfChan(in.Chan)
				if other == nil || other.Field != fa.Field || !sameBase(other.X, fa.X) {
					return false
				}
			}
		}
	}
	return true
}

// flood returns the blocks that next reaches from b, b included.
func flood(b *ssa.BasicBlock, next func(*ssa.BasicBlock) []*ssa.BasicBlock) map[*ssa.BasicBlock]bool {
	seen := map[*ssa.BasicBlock]bool{b: true}
	work := []*ssa.BasicBlock{b}
	for len(work) > 0 {
		b := work[len(work)-1]
		work = work[:len(work)-1]
		for _, n := range next(b) {
			if !seen[n] {
				seen[n] = true
				work = append(work, n)
			}
		}
	}
	return seen
}

// sameBase reports whether a and b are the same pointer: one value, or
// two loads of a variable that a closure captures and only reads.
func sameBase(a, b ssa.Value) bool {
	if a == b {
		return true
	}
	la, ok := a.(*ssa.UnOp)
	lb, ok2 := b.(*ssa.UnOp)
	if !ok || !ok2 || la.Op != token.MUL || lb.Op != token.MUL || la.X != lb.X {
		return false
	}
	fv, ok := la.X.(*ssa.FreeVar)
	return ok && onlyLoaded(fv)
}

// fieldSends returns the sends into the field v, of any value, that fn
// and the func literals it makes may run: sends, and the send cases of
// selects.
func fieldSends(fn *ssa.Function, v *types.Var) []ssa.Instruction {
	var out []ssa.Instruction
	into := func(ch ssa.Value) bool {
		fa := fieldOfChan(ch)
		return fa != nil && fieldVar(fa.X.Type(), fa.Field) == v
	}
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.Send:
				if into(in.Chan) {
					out = append(out, in)
				}
			case *ssa.Select:
				for _, st := range in.States {
					if st.Dir == types.SendOnly && into(st.Chan) {
						out = append(out, in)
						break
					}
				}
			}
		}
	}
	for _, anon := range fn.AnonFuncs {
		out = append(out, fieldSends(anon, v)...)
	}
	return out
}

// sendsVia returns the calls of fn to functions of the package that send
// into the field v, themselves or through the functions they call; a send
// that fills a new channel, or gives back a token the callee took, adds
// none and does not count.
func (c *checker) sendsVia(fn *ssa.Function, v *types.Var) []ssa.Instruction {
	var out []ssa.Instruction
	seen := map[*ssa.Function]bool{fn: true}
	var sends func(f *ssa.Function) bool
	sends = func(f *ssa.Function) bool {
		for _, send := range fieldSends(f, v) {
			if fill, ok := send.(*ssa.Send); ok && c.fills[fill] {
				// The fill of a new channel, before any token is out.
				continue
			}
			if !takenBefore(send, v) {
				return true
			}
		}
		for _, b := range f.Blocks {
			for _, instr := range b.Instrs {
				if call, ok := instr.(ssa.CallInstruction); ok {
					if callee := call.Common().StaticCallee(); callee != nil && !seen[callee] && len(seen) < maxRecursionWalk {
						seen[callee] = true
						if sends(callee) {
							return true
						}
					}
				}
			}
		}
		return false
	}
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if call, ok := instr.(ssa.CallInstruction); ok {
				if callee := call.Common().StaticCallee(); callee != nil && !seen[callee] && sends(callee) {
					out = append(out, instr)
				}
			}
		}
	}
	return out
}

// takenBefore reports whether send, in a callee, gives back a token the
// callee took: it is a send that a receive from the field v precedes on
// every path in the same function, so that the callee adds none.
func takenBefore(send ssa.Instruction, v *types.Var) bool {
	if _, ok := send.(*ssa.Send); !ok {
		return false
	}
	return takenFrom(send, func(ch ssa.Value) bool {
		fa := fieldOfChan(ch)
		return fa != nil && fieldVar(fa.X.Type(), fa.Field) == v
	})
}

// takenFrom reports whether a receive from a channel that from accepts
// precedes send on every path in its function: directly, or as the case
// of a select that the path to send chose.
func takenFrom(send ssa.Instruction, from func(ssa.Value) bool) bool {
	for d := send.Block(); d != nil; d = d.Idom() {
		for i, instr := range d.Instrs {
			if d == send.Block() && i >= index(send) {
				break
			}
			if r, ok := instr.(*ssa.UnOp); ok && r.Op == token.ARROW && from(r.X) {
				return true
			}
		}
		if sel, k := selectCase(d); sel != nil && k < len(sel.States) &&
			sel.States[k].Dir == types.RecvOnly && from(sel.States[k].Chan) {
			return true
		}
	}
	return false
}

// selectCase returns the select whose case k block b is entered by, when
// b is entered only from the test that the select chose case k.
func selectCase(b *ssa.BasicBlock) (*ssa.Select, int) {
	if len(b.Preds) != 1 {
		return nil, 0
	}
	p := b.Preds[0]
	iff, ok := p.Instrs[len(p.Instrs)-1].(*ssa.If)
	if !ok || p.Succs[0] != b || p.Succs[1] == b {
		return nil, 0
	}
	eq, ok := iff.Cond.(*ssa.BinOp)
	if !ok || eq.Op != token.EQL {
		return nil, 0
	}
	x, ok := eq.X.(*ssa.Extract)
	k, ok2 := eq.Y.(*ssa.Const)
	if !ok || !ok2 || x.Index != 0 || k.Value == nil {
		return nil, 0
	}
	sel, ok := x.Tuple.(*ssa.Select)
	if !ok || k.Value.Kind() != constant.Int {
		return nil, 0
	}
	n, exact := constant.Int64Val(k.Value)
	if !exact {
		return nil, 0
	}
	return sel, int(n)
}

// sentBefore reports whether another send into the field v, of any value,
// may run before send: in its function on a path to it, directly or in a
// function of the package that it calls there, or in a func literal that
// the function makes (which may run at any time, deferred or not).
func (c *checker) sentBefore(send *ssa.Send, v *types.Var) bool {
	fn := send.Parent()
	for _, other := range append(fieldSends(fn, v), c.sendsVia(fn, v)...) {
		if other == ssa.Instruction(send) {
			continue
		}
		b := other.Block()
		if other.Parent() != fn {
			return true
		}
		if b == send.Block() && index(other) < index(send) {
			return true
		}
		if b != send.Block() && flood(b, func(x *ssa.BasicBlock) []*ssa.BasicBlock { return x.Succs })[send.Block()] {
			return true
		}
	}
	return false
}

// recursive reports whether fn may call itself through the static calls
// of the package's functions (the wrappers of method values included).
func recursive(fn *ssa.Function) bool {
	seen := map[*ssa.Function]bool{}
	var from func(f *ssa.Function) bool
	from = func(f *ssa.Function) bool {
		for _, b := range f.Blocks {
			for _, instr := range b.Instrs {
				call, ok := instr.(ssa.CallInstruction)
				if !ok {
					continue
				}
				callee := call.Common().StaticCallee()
				if callee == fn {
					return true
				}
				if callee != nil && !seen[callee] && len(seen) < maxRecursionWalk {
					seen[callee] = true
					if from(callee) {
						return true
					}
				}
			}
		}
		return false
	}
	return from(fn)
}

// maxRecursionWalk bounds the functions that recursive looks into.
const maxRecursionWalk = 256

// fieldOfChan returns the field address that ch is loaded from, or nil.
func fieldOfChan(ch ssa.Value) *ssa.FieldAddr {
	if load, ok := ch.(*ssa.UnOp); ok && load.Op == token.MUL {
		fa, _ := load.X.(*ssa.FieldAddr)
		return fa
	}
	return nil
}

// givesBack reports whether send returns to its channel what was taken
// from it, so that it has room. It is a send of a constant: one of the
// loop's that filled a token field (see findTokens), or one that is not
// in a loop, a range-over-func body or a function that may call itself
// (each of which gives back more than one take), and
//
//   - sends into a token field, and no other send into the field (of any
//     value, a select's, a func literal's or a callee's) may precede it
//     in its function; or
//   - follows on every path a receive from the same channel in the same
//     function (take a token, work, give it back), which is no field that
//     the package sets to an unbuffered channel, with no other send
//     into it on the way, no store into a field or variable that leads to
//     it (which may make it another channel), and no call in the path
//     that names it (which may return another channel each time).
func (c *checker) givesBack(send *ssa.Send) bool {
	if _, isConst := send.X.(*ssa.Const); !isConst {
		return false
	}
	var v *types.Var
	if fa := fieldOfChan(send.Chan); fa != nil {
		v = fieldVar(fa.X.Type(), fa.Field)
	}
	if v != nil && c.fills[send] {
		return true
	}
	if c.inLoop(send.Block()) || c.yields[send.Parent()] != nil || recursive(send.Parent()) {
		return false
	}
	if v != nil && c.tokens[v] {
		return !c.sentBefore(send, v)
	}
	key, _ := c.path(send.Chan)
	if strings.HasPrefix(key, "v") {
		// Not a path that names one channel.
		return false
	}
	// The channel must live in a field or a package variable that the
	// package only ever sets to new buffered channels: a channel handed
	// in, or made unbuffered, may have no room at all.
	var home any
	if load, ok := send.Chan.(*ssa.UnOp); ok && load.Op == token.MUL {
		home = homeOf(load.X)
	}
	if home == nil || !c.buffered[home] {
		return false
	}
	fields, globals, unsure := chanPath(send.Chan)
	if unsure {
		// Another channel each time: a call, or an index that is not a
		// constant.
		return false
	}
	for d := send.Block(); d != nil; d = d.Idom() {
		for i, instr := range d.Instrs {
			if d == send.Block() && i >= index(send) {
				break
			}
			r, ok := instr.(*ssa.UnOp)
			if !ok || r.Op != token.ARROW {
				continue
			}
			if k, _ := c.path(r.X); k != key {
				continue
			}
			return c.quietFor(r, send, key, home, fields, globals)
		}
	}
	return false
}

// chanPath returns the fields and package variables that the path to the
// channel ch goes through, and whether it goes through a call or an index
// that is not a constant (unsure: it may name another channel each time).
func chanPath(ch ssa.Value) (fields map[*types.Var]bool, globals map[*ssa.Global]bool, unsure bool) {
	fields, globals = map[*types.Var]bool{}, map[*ssa.Global]bool{}
	for v := ch; v != nil; {
		switch x := v.(type) {
		case *ssa.UnOp:
			if x.Op != token.MUL {
				return
			}
			v = x.X
		case *ssa.FieldAddr:
			fields[fieldVar(x.X.Type(), x.Field)] = true
			v = x.X
		case *ssa.Field:
			fields[fieldVar(x.X.Type(), x.Field)] = true
			v = x.X
		case *ssa.IndexAddr:
			if _, ok := x.Index.(*ssa.Const); !ok {
				unsure = true
				return
			}
			v = x.X
		case *ssa.Index:
			if _, ok := x.Index.(*ssa.Const); !ok {
				unsure = true
				return
			}
			v = x.X
		case *ssa.Lookup:
			if _, ok := x.Index.(*ssa.Const); !ok {
				unsure = true
				return
			}
			v = x.X
		case *ssa.ChangeType:
			v = x.X
		case *ssa.Global:
			globals[x] = true
			return
		case *ssa.Call:
			unsure = true
			return
		default:
			return
		}
	}
	return
}

// quietFor reports whether, on the paths from the receive r to send,
// nothing else sends into the channel that key names (in home, a field or
// a package variable), and nothing stores into the fields or package
// variables on its path: in the function, or in a function of the
// package that it calls there (a callee's send that gives back a token
// the callee took adds none).
func (c *checker) quietFor(r *ssa.UnOp, send *ssa.Send, key string, home any, fields map[*types.Var]bool, globals map[*ssa.Global]bool) bool {
	fwd := flood(r.Block(), func(b *ssa.BasicBlock) []*ssa.BasicBlock { return b.Succs })
	bwd := flood(send.Block(), func(b *ssa.BasicBlock) []*ssa.BasicBlock { return b.Preds })
	seen := map[*ssa.Function]bool{send.Parent(): true}
	for _, b := range send.Parent().Blocks {
		if !fwd[b] || !bwd[b] {
			continue
		}
		for i, instr := range b.Instrs {
			if b == r.Block() && i <= index(r) || b == send.Block() && i >= index(send) {
				continue
			}
			switch in := instr.(type) {
			case *ssa.Send:
				if k, _ := c.path(in.Chan); k == key {
					return false
				}
			case *ssa.Store:
				if storesPath(in, fields, globals) {
					return false
				}
			case ssa.CallInstruction:
				if callee := in.Common().StaticCallee(); callee != nil && !seen[callee] {
					seen[callee] = true
					if touches(callee, home, fields, globals, seen) {
						return false
					}
				}
			}
		}
	}
	return true
}

// storesPath reports whether st stores into one of fields or globals.
func storesPath(st *ssa.Store, fields map[*types.Var]bool, globals map[*ssa.Global]bool) bool {
	switch addr := st.Addr.(type) {
	case *ssa.FieldAddr:
		return fields[fieldVar(addr.X.Type(), addr.Field)]
	case *ssa.Global:
		return globals[addr]
	}
	return false
}

// touches reports whether fn, or a function of the package that it calls,
// stores into one of fields or globals, or sends into the channel in home
// other than to give back a token it took.
func touches(fn *ssa.Function, home any, fields map[*types.Var]bool, globals map[*ssa.Global]bool, seen map[*ssa.Function]bool) bool {
	into := func(ch ssa.Value) bool {
		load, ok := ch.(*ssa.UnOp)
		return ok && load.Op == token.MUL && homeOf(load.X) == home
	}
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.Store:
				if storesPath(in, fields, globals) {
					return true
				}
			case *ssa.Send:
				if into(in.Chan) && !takenFrom(in, into) {
					return true
				}
			case *ssa.Select:
				for _, st := range in.States {
					if st.Dir == types.SendOnly && into(st.Chan) {
						return true
					}
				}
			case ssa.CallInstruction:
				if callee := in.Common().StaticCallee(); callee != nil && !seen[callee] && len(seen) < maxRecursionWalk {
					seen[callee] = true
					if touches(callee, home, fields, globals, seen) {
						return true
					}
				}
			}
		}
	}
	for _, anon := range fn.AnonFuncs {
		if !seen[anon] {
			seen[anon] = true
			if touches(anon, home, fields, globals, seen) {
				return true
			}
		}
	}
	return false
}
