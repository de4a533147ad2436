package lockblock

import (
	"go/constant"
	"go/token"
	"go/types"
	"slices"

	"golang.org/x/tools/go/ssa"
)

// One-shot channels.
//
// Many packages give each waiter a channel of its own, made with room for
// one value, keep it in a map or slice field until the event, and then
// send into it once and close it:
//
//	for _, ch := range c.watchers[path] {
//		ch <- ev
//		close(ch)
//	}
//
// A send into a closed channel panics, and so does a send that is blocked
// when the channel is closed; so in a program that does not panic, each
// such channel is sent into once, and the send finds room. Such a send is
// not a wait when:
//   - the channel is an element of an unexported map or slice field (or
//     of a map or slice kept in one), taken by ranging over it, by index,
//     or from a map by v, ok := m[k] where ok is true;
//   - every channel the package puts into the field is made there with
//     room, and is otherwise only received from or handed out as
//     receive-only, so no other code can send into it;
//   - the field is only ever set to an empty map or slice, to itself
//     resliced, or to itself with such channels appended (a slice made
//     with a length would hold nil channels, which block for ever);
//   - every send of the package into a channel taken from the field is
//     followed in its block by the close of that channel, with no call,
//     send or receive between.

// oneShot reports whether send puts a value into a one-shot channel.
func (c *checker) oneShot(send *ssa.Send) bool {
	f := elemOf(send.Chan)
	if f == nil || !closedAfter(send) || !okGuarded(send) {
		return false
	}
	ok, seen := c.oneShots[f]
	if !seen {
		ok = c.oneShotField(f)
		c.oneShots[f] = ok
	}
	return ok
}

// elemOf returns the field that the channel v is an element of, as
// oneShot describes; nil if there is none.
func elemOf(v ssa.Value) *types.Var {
	return elemField(v, false)
}

// anyElemOf is elemOf, but also finds the field of a channel taken as
// m[k] without asking whether k is there.
func anyElemOf(v ssa.Value) *types.Var {
	return elemField(v, true)
}

// elemField is elemOf; plain says whether m[k] counts.
func elemField(v ssa.Value, plain bool) *types.Var {
	elem := false
	for range 8 {
		switch x := v.(type) {
		case *ssa.ChangeType:
			v = x.X
		case *ssa.UnOp:
			if x.Op != token.MUL {
				return nil
			}
			switch a := x.X.(type) {
			case *ssa.FieldAddr:
				if !elem {
					return nil
				}
				if f := fieldVar(a.X.Type(), a.Field); f != nil && !f.Exported() {
					return f
				}
				return nil
			case *ssa.IndexAddr:
				if _, ok := a.X.Type().Underlying().(*types.Slice); !ok {
					return nil
				}
				v, elem = a.X, true
			default:
				return nil
			}
		case *ssa.Extract:
			switch t := x.Tuple.(type) {
			case *ssa.Lookup:
				if x.Index != 0 {
					return nil
				}
				v, elem = t.X, true
			case *ssa.Next:
				r, ok := t.Iter.(*ssa.Range)
				if !ok || x.Index != 2 {
					return nil
				}
				v, elem = r.X, true
			default:
				return nil
			}
		case *ssa.Lookup:
			if _, ok := x.Type().Underlying().(*types.Chan); ok && !plain {
				// A missing key gives a nil channel, which blocks for
				// ever: only v, ok := m[k] is taken.
				return nil
			}
			v, elem = x.X, true
		case *ssa.Slice:
			v = x.X
		default:
			return nil
		}
	}
	return nil
}

// okGuarded reports whether send, if its channel comes from v, ok :=
// m[k], runs only where ok is true.
func okGuarded(send *ssa.Send) bool {
	v := unconverted(send.Chan)
	ex, ok := v.(*ssa.Extract)
	if !ok {
		return true
	}
	if _, ok := ex.Tuple.(*ssa.Lookup); !ok {
		return true
	}
	for _, ref := range *ex.Tuple.(*ssa.Lookup).Referrers() {
		okv, isEx := ref.(*ssa.Extract)
		if !isEx || okv.Index != 1 {
			continue
		}
		for _, use := range *okv.Referrers() {
			iff, isIf := use.(*ssa.If)
			if isIf && iff.Cond == ssa.Value(okv) && len(iff.Block().Succs) == 2 {
				then := iff.Block().Succs[0]
				if len(then.Preds) == 1 && then.Dominates(send.Block()) {
					return true
				}
			}
		}
	}
	return false
}

// closedAfter reports whether the channel of send is closed after it in
// its block, with no call, send or receive between.
func closedAfter(send *ssa.Send) bool {
	instrs := send.Block().Instrs
	i := index(send)
	for _, instr := range instrs[i+1:] {
		switch in := instr.(type) {
		case *ssa.Call:
			b, ok := in.Call.Value.(*ssa.Builtin)
			if !ok || b.Name() != "close" {
				return false
			}
			return len(in.Call.Args) == 1 && sameChan(in.Call.Args[0], send.Chan)
		case *ssa.Send, *ssa.Select, *ssa.Go, *ssa.Defer, *ssa.Panic, *ssa.Return, *ssa.Jump, *ssa.If, *ssa.Store, *ssa.MapUpdate:
			return false
		case *ssa.UnOp:
			if in.Op == token.ARROW {
				return false
			}
		}
	}
	return false
}

// sameChan reports whether a and b are one channel value, through
// conversions between channel types.
func sameChan(a, b ssa.Value) bool {
	a, b = unconverted(a), unconverted(b)
	if a == b {
		return true
	}
	// s[i] <- v; close(s[i]): two loads of one element, with nothing
	// between the send and the close that stores (see closedAfter).
	la, ok := a.(*ssa.UnOp)
	lb, ok2 := b.(*ssa.UnOp)
	if !ok || !ok2 || la.Op != token.MUL || lb.Op != token.MUL {
		return false
	}
	ia, ok := la.X.(*ssa.IndexAddr)
	ib, ok2 := lb.X.(*ssa.IndexAddr)
	if !ok || !ok2 {
		return false
	}
	if ia.Index != ib.Index && !sameConst(ia.Index, ib.Index) {
		return false
	}
	if ia.X == ib.X {
		return true
	}
	// Two loads of the slice from one field: nothing between them may
	// store or call.
	xa, ok := ia.X.(*ssa.UnOp)
	xb, ok2 := ib.X.(*ssa.UnOp)
	if !ok || !ok2 || !sameValue(xa, xb) {
		return false
	}
	blk := la.Block()
	if xa.Block() != blk || xb.Block() != blk || lb.Block() != blk {
		return false
	}
	from := min(index(xa), index(xb))
	to := max(index(la), index(lb))
	for _, instr := range blk.Instrs[from:to] {
		switch in := instr.(type) {
		case *ssa.Store, *ssa.MapUpdate, *ssa.Go, *ssa.Defer:
			return false
		case *ssa.Call:
			if _, ok := in.Call.Value.(*ssa.Builtin); !ok {
				return false
			}
		}
	}
	return true
}

// unconverted returns the channel that v converts to another channel
// type (chan T to chan<- T), or v.
func unconverted(v ssa.Value) ssa.Value {
	for {
		ct, ok := v.(*ssa.ChangeType)
		if !ok {
			return v
		}
		v = ct.X
	}
}

// sameConst reports whether a and b are equal constants.
func sameConst(a, b ssa.Value) bool {
	ka, ok := a.(*ssa.Const)
	kb, ok2 := b.(*ssa.Const)
	return ok && ok2 && ka.Value != nil && kb.Value != nil && constant.Compare(ka.Value, token.EQL, kb.Value)
}

// oneShotField reports whether every use in the package of the field f,
// and of every channel sent into through it, is as oneShot requires.
func (c *checker) oneShotField(f *types.Var) bool {
	for fn := range c.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch in := instr.(type) {
				case *ssa.FieldAddr:
					if fieldVar(in.X.Type(), in.Field) != f {
						continue
					}
					for _, ref := range *in.Referrers() {
						switch ref := ref.(type) {
						case *ssa.UnOp:
							if ref.Op != token.MUL || !c.containerUses(ref, f, 0) {
								return false
							}
						case *ssa.Store:
							if ref.Addr != in || !c.emptyOrGrown(ref.Val, f) {
								return false
							}
						case *ssa.DebugRef:
						default:
							return false
						}
					}
				case *ssa.Send:
					if anyElemOf(in.Chan) == f && (elemOf(in.Chan) != f || !closedAfter(in) || !okGuarded(in)) {
						return false
					}
				case *ssa.Select:
					for _, st := range in.States {
						if st.Dir == types.SendOnly && anyElemOf(st.Chan) == f {
							return false
						}
					}
				}
			}
		}
	}
	return true
}

// maxNest bounds how deep containers nest in a field.
const maxNest = 3

// containerUses reports whether v, a map or slice taken from the field f,
// is only read, resliced, grown with new channels with room and stored
// back, or added to with them, and not handed on.
func (c *checker) containerUses(v ssa.Value, f *types.Var, depth int) bool {
	if depth > maxNest {
		return false
	}
	nested := func(x ssa.Value) bool {
		switch x.Type().Underlying().(type) {
		case *types.Map, *types.Slice:
			return c.containerUses(x, f, depth+1)
		case *types.Chan:
			return chanUses(x, 0)
		}
		return false
	}
	for _, ref := range *v.Referrers() {
		switch ref := ref.(type) {
		case *ssa.DebugRef, *ssa.BinOp, *ssa.Index:
		case *ssa.Lookup:
			if ref.CommaOk {
				for _, e := range *ref.Referrers() {
					if ex, ok := e.(*ssa.Extract); ok && ex.Index == 0 && !nested(ex) {
						return false
					}
				}
				continue
			}
			if !nested(ref) {
				return false
			}
		case *ssa.Range:
			for _, n := range *ref.Referrers() {
				for _, e := range *n.(*ssa.Next).Referrers() {
					if ex, ok := e.(*ssa.Extract); ok && ex.Index == 2 && !nested(ex) {
						return false
					}
				}
			}
		case *ssa.IndexAddr:
			for _, use := range *ref.Referrers() {
				switch use := use.(type) {
				case *ssa.UnOp:
					if use.Op != token.MUL || !nested(use) {
						return false
					}
				case *ssa.Store:
					if use.Addr != ref || !c.freshChan(use.Val, f) {
						return false
					}
				case *ssa.DebugRef:
				default:
					return false
				}
			}
		case *ssa.Slice:
			if ref.X != v || !c.containerUses(ref, f, depth+1) {
				return false
			}
		case *ssa.MapUpdate:
			if ref.Map != v || ref.Value == v {
				return false
			}
			if _, ok := ref.Value.Type().Underlying().(*types.Chan); ok {
				if !c.freshChan(ref.Value, f) {
					return false
				}
			} else if !c.emptyOrGrown(ref.Value, f) {
				return false
			}
		case *ssa.Call:
			b, ok := ref.Call.Value.(*ssa.Builtin)
			if !ok {
				return false
			}
			switch b.Name() {
			case "len", "cap", "delete":
			case "clear":
				// Emptying a map drops channels; clearing a slice
				// would leave nil ones.
				if _, isMap := v.Type().Underlying().(*types.Map); !isMap {
					return false
				}
			case "append":
				if ref.Call.Args[0] != v || !c.grows(ref, f) {
					return false
				}
			default:
				return false
			}
		case *ssa.Store:
			// The container itself stored: only back into the field.
			if ref.Val == v && !storesField(ref.Addr, f) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// chanUses reports whether ch, a channel taken from the field, is only
// sent into (each such send is checked on its own), closed, received
// from, compared, or handed on receive-only: it goes nowhere a send that
// is not checked could reach it.
func chanUses(ch ssa.Value, depth int) bool {
	return chanOnly(ch, depth, true)
}

// chanOnly is chanUses; follow says whether a conversion to a channel
// type that can still send is followed (its uses checked in turn) or
// refused.
func chanOnly(ch ssa.Value, depth int, follow bool) bool {
	if depth > 4 {
		return false
	}
	for _, ref := range *ch.Referrers() {
		switch ref := ref.(type) {
		case *ssa.DebugRef, *ssa.BinOp:
		case *ssa.Send:
			if ref.Chan != ch || ref.X == ch {
				return false
			}
		case *ssa.UnOp:
			if ref.Op != token.ARROW {
				return false
			}
		case *ssa.Select:
			for _, st := range ref.States {
				if st.Chan == ch && st.Dir != types.RecvOnly || st.Send == ch {
					return false
				}
			}
		case *ssa.ChangeType:
			if t, ok := ref.Type().Underlying().(*types.Chan); ok && t.Dir() == types.RecvOnly {
				continue
			}
			if !follow || !chanOnly(ref, depth+1, follow) {
				return false
			}
		case *ssa.Call:
			b, ok := ref.Call.Value.(*ssa.Builtin)
			if !ok || (b.Name() != "close" && b.Name() != "len" && b.Name() != "cap") {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// storesField reports whether addr is the address of the field f.
func storesField(addr ssa.Value, f *types.Var) bool {
	fa, ok := addr.(*ssa.FieldAddr)
	return ok && fieldVar(fa.X.Type(), fa.Field) == f
}

// emptyOrGrown reports whether v, stored into the field f or into a map
// of it, is nil, a new empty map or slice, the field resliced, or an
// append to it (see grows).
func (c *checker) emptyOrGrown(v ssa.Value, f *types.Var) bool {
	switch v := v.(type) {
	case *ssa.Const:
		return v.IsNil()
	case *ssa.MakeMap:
		// A map literal with entries, or a new map filled before it is
		// stored, is not empty.
		for _, ref := range *v.Referrers() {
			switch ref.(type) {
			case *ssa.Store, *ssa.MapUpdate, *ssa.DebugRef:
				if mu, ok := ref.(*ssa.MapUpdate); ok && mu.Map == ssa.Value(v) {
					return false
				}
			default:
				return false
			}
		}
		return true
	case *ssa.MakeSlice:
		k, ok := v.Len.(*ssa.Const)
		return ok && k.Int64() == 0
	case *ssa.Slice:
		// Only s[i:] and s[:0]: a slice that reaches past its length,
		// s[:n], brings in elements never set, nil channels.
		if v.Max != nil || !fromField(v.X, f) {
			return false
		}
		if v.High == nil {
			return true
		}
		k, ok := v.High.(*ssa.Const)
		return ok && k.Value != nil && constant.Sign(k.Value) == 0
	case *ssa.Call:
		b, ok := v.Call.Value.(*ssa.Builtin)
		return ok && b.Name() == "append" && (fromField(v.Call.Args[0], f) || isNil(v.Call.Args[0])) && c.freshArgs(v, f)
	}
	return false
}

// freshArgs reports whether the append call adds only new channels with
// room, each put into f alone: append(s, ch) passes ch in a new array,
// append(s, new([1]T)[:]...).
func (c *checker) freshArgs(call *ssa.Call, f *types.Var) bool {
	if len(call.Call.Args) != 2 {
		return false
	}
	sl, ok := call.Call.Args[1].(*ssa.Slice)
	if !ok {
		return false
	}
	arr, ok := sl.X.(*ssa.Alloc)
	if !ok {
		return false
	}
	// make([]chan T, 3) is an array of three nil channels, which
	// nothing stores into: every element must be given a channel.
	at, ok := deref(arr.Type()).Underlying().(*types.Array)
	if !ok {
		return false
	}
	given := map[int64]bool{}
	for _, ref := range *arr.Referrers() {
		if ia, ok := ref.(*ssa.IndexAddr); ok {
			if k, ok := ia.Index.(*ssa.Const); ok && k.Value != nil {
				given[k.Int64()] = true
			}
		}
	}
	if int64(len(given)) != at.Len() {
		return false
	}
	for _, ref := range *arr.Referrers() {
		switch ref := ref.(type) {
		case *ssa.IndexAddr:
			if _, ok := ref.Index.(*ssa.Const); !ok {
				return false
			}
			for _, use := range *ref.Referrers() {
				st, ok := use.(*ssa.Store)
				if !ok || st.Addr != ref || !c.freshChan(st.Val, f) {
					return false
				}
			}
		case *ssa.Slice:
			if ref != sl {
				return false
			}
		case *ssa.DebugRef:
		default:
			return false
		}
	}
	return true
}

// fromField reports whether v is a container taken from the field f.
func fromField(v ssa.Value, f *types.Var) bool {
	for range maxNest + 2 {
		switch x := v.(type) {
		case *ssa.UnOp:
			if x.Op != token.MUL {
				return false
			}
			if fa, ok := x.X.(*ssa.FieldAddr); ok {
				return fieldVar(fa.X.Type(), fa.Field) == f
			}
			ia, ok := x.X.(*ssa.IndexAddr)
			if !ok {
				return false
			}
			v = ia.X
		case *ssa.Lookup:
			v = x.X
		case *ssa.Extract:
			l, ok := x.Tuple.(*ssa.Lookup)
			if !ok {
				return false
			}
			v = l.X
		case *ssa.Slice:
			v = x.X
		default:
			return false
		}
	}
	return false
}

// grows reports whether the append call adds to a container of the field
// f only new channels with room, and its result goes only back into the
// field or into a map of it.
func (c *checker) grows(call *ssa.Call, f *types.Var) bool {
	return c.freshArgs(call, f) && intoField(call, f)
}

// intoField reports whether the result of the append call goes only
// into the field f or into a map of it.
func intoField(call *ssa.Call, f *types.Var) bool {
	for _, ref := range *call.Referrers() {
		switch ref := ref.(type) {
		case *ssa.Store:
			if ref.Val != call || !storesField(ref.Addr, f) {
				return false
			}
		case *ssa.MapUpdate:
			if ref.Value != call || !fromField(ref.Map, f) {
				return false
			}
		case *ssa.DebugRef:
		default:
			return false
		}
	}
	return true
}

// appendsInto reports whether arr, an array that holds the values to
// append, is only appended into the field f.
func appendsInto(arr *ssa.Alloc, f *types.Var) bool {
	for _, ref := range *arr.Referrers() {
		switch ref := ref.(type) {
		case *ssa.IndexAddr, *ssa.DebugRef:
		case *ssa.Slice:
			for _, use := range *ref.Referrers() {
				call, ok := use.(*ssa.Call)
				if !ok {
					return false
				}
				b, ok := call.Call.Value.(*ssa.Builtin)
				if !ok || b.Name() != "append" || len(call.Call.Args) != 2 || call.Call.Args[1] != ssa.Value(ref) || !intoField(call, f) {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

// freshChan reports whether v, put into the field f, is a channel made
// with room whose every other use is a receive, or handing it out
// receive-only: nobody but the package's sends through f sends into it.
func (c *checker) freshChan(v ssa.Value, f *types.Var) bool {
	v = unconverted(v)
	mc, ok := v.(*ssa.MakeChan)
	if !ok {
		return false
	}
	k, ok := mc.Size.(*ssa.Const)
	if !ok || k.Int64() < 1 {
		return false
	}
	if c.prefill && !prefilledOnly(mc) {
		return false
	}
	return onlyThroughField(mc, f, 0, c.prefill)
}

// prefilledOnly reports whether mc, a new channel, is stored once (not
// again round a loop) and every send into it comes before that store on
// every path, and never after it: it fills the channel before anything
// else can reach it.
func prefilledOnly(mc *ssa.MakeChan) bool {
	var sends []*ssa.Send
	var stores []ssa.Instruction
	for _, ref := range *mc.Referrers() {
		switch ref := ref.(type) {
		case *ssa.Send:
			if ref.Chan != ssa.Value(mc) || ref.X == ssa.Value(mc) {
				return false
			}
			sends = append(sends, ref)
		case *ssa.MapUpdate, *ssa.Store:
			stores = append(stores, ref)
		}
	}
	// Stored once: a channel in the fields of two structs is sent into
	// under two locks.
	if len(stores) != 1 || loopsBack(stores[0], mc) {
		return false
	}
	for _, s := range sends {
		if !precedes(s, stores[0]) || reaches(stores[0], s) {
			return false
		}
	}
	return true
}

// loopsBack reports whether st can run again, round a loop, without mc,
// which made what it stores, running again first.
func loopsBack(st ssa.Instruction, mc *ssa.MakeChan) bool {
	seen := map[*ssa.BasicBlock]bool{}
	work := slices.Clone(st.Block().Succs)
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		if x == mc.Block() || seen[x] {
			continue
		}
		if x == st.Block() {
			return true
		}
		seen[x] = true
		work = append(work, x.Succs...)
	}
	return false
}

// reaches reports whether b can run after a, in a's function.
func reaches(a, b ssa.Instruction) bool {
	if a.Block() == b.Block() && index(a) < index(b) {
		return true
	}
	seen := map[*ssa.BasicBlock]bool{}
	work := slices.Clone(a.Block().Succs)
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		if x == b.Block() {
			return true
		}
		if !seen[x] {
			seen[x] = true
			work = append(work, x.Succs...)
		}
	}
	return false
}

// onlyThroughField reports whether the channel v is only received from,
// compared, handed out receive-only, or put into the field f.
func onlyThroughField(v ssa.Value, f *types.Var, depth int, prefill bool) bool {
	if depth > 4 {
		return false
	}
	for _, ref := range *v.Referrers() {
		switch ref := ref.(type) {
		case *ssa.DebugRef, *ssa.BinOp:
		case *ssa.ChangeType:
			if ch, ok := ref.Type().Underlying().(*types.Chan); ok && ch.Dir() == types.RecvOnly {
				continue
			}
			if !onlyThroughField(ref, f, depth+1, false) {
				return false
			}
		case *ssa.UnOp:
			if ref.Op != token.ARROW {
				return false
			}
		case *ssa.Send:
			// Sends that fill it before it is stored, which
			// prefilledOnly has checked.
			if !prefill {
				return false
			}
		case *ssa.Select:
			for _, st := range ref.States {
				if st.Chan == v && st.Dir != types.RecvOnly {
					return false
				}
			}
		case *ssa.MapUpdate:
			if ref.Value != v || !fromField(ref.Map, f) {
				return false
			}
		case *ssa.Store:
			if ref.Val != v {
				return false
			}
			// Into an element of a container of f, or into the array
			// that carries it to append (checked by grows).
			ia, ok := ref.Addr.(*ssa.IndexAddr)
			if !ok {
				return false
			}
			if arr, isArr := ia.X.(*ssa.Alloc); isArr {
				if !appendsInto(arr, f) {
					return false
				}
			} else if !fromField(ia.X, f) {
				return false
			}
		default:
			return false
		}
	}
	return true
}
