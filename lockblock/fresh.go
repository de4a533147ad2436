package lockblock

import (
	"go/constant"
	"go/token"

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
// struct allocated in the function that has not escaped either; and a
// field that was just set to a new buffered channel, with nothing but
// loads and tests between the store and the send.
func freshSend(send *ssa.Send) bool {
	ch := send.Chan
	if mc, ok := ch.(*ssa.MakeChan); ok {
		return !escapesBefore(mc, send)
	}
	load, ok := ch.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return false
	}
	fa, ok := load.X.(*ssa.FieldAddr)
	if !ok {
		return false
	}
	if alloc, ok := fa.X.(*ssa.Alloc); ok && !escapesBefore(alloc, send) && onlyMakeChan(alloc, fa.Field) {
		return true
	}
	return justMade(fa, send)
}

// escapesBefore reports whether v (a new channel, or a new struct) may be
// reachable by another goroutine when instr runs: whether some use of it
// other than a send into it, a field access, or a builtin such as len can
// run before instr.
func escapesBefore(v ssa.Value, instr ssa.Instruction) bool {
	for _, ref := range *v.Referrers() {
		if harmless(v, ref) {
			continue
		}
		if mayPrecede(ref, instr) {
			return true
		}
	}
	return false
}

// harmless reports whether use ref of v cannot hand v to another
// goroutine.
func harmless(v ssa.Value, ref ssa.Instruction) bool {
	switch r := ref.(type) {
	case *ssa.Send:
		return r.Chan == v && r.X != v
	case *ssa.UnOp:
		// A receive from the channel; a load of a whole struct could
		// copy the channel out.
		_, isChan := v.(*ssa.MakeChan)
		return isChan
	case *ssa.Call:
		if b, ok := r.Call.Value.(*ssa.Builtin); ok {
			switch b.Name() {
			case "len", "cap":
				return true
			}
		}
	case *ssa.FieldAddr:
		return fieldStaysHome(r)
	}
	return false
}

// fieldStaysHome reports whether every use of field address fa only loads
// from it, stores into it, or goes on to a field within it: storing the
// address elsewhere or passing it on would let the struct escape.
func fieldStaysHome(fa *ssa.FieldAddr) bool {
	for _, fr := range *fa.Referrers() {
		switch f := fr.(type) {
		case *ssa.UnOp:
		case *ssa.Store:
			if f.Addr != fa {
				return false
			}
		case *ssa.FieldAddr:
			if !fieldStaysHome(f) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// mayPrecede reports whether a may run before b in one call of their
// function.
func mayPrecede(a, b ssa.Instruction) bool {
	ab, bb := a.Block(), b.Block()
	if ab == bb {
		for _, in := range ab.Instrs {
			if in == a {
				return true
			}
			if in == b {
				break
			}
		}
	}
	// Does some path lead from a's block to b's block (in a loop, back to
	// the same block)?
	seen := map[*ssa.BasicBlock]bool{}
	work := append([]*ssa.BasicBlock(nil), ab.Succs...)
	for len(work) > 0 {
		blk := work[len(work)-1]
		work = work[:len(work)-1]
		if blk == bb {
			return true
		}
		if seen[blk] {
			continue
		}
		seen[blk] = true
		work = append(work, blk.Succs...)
	}
	return false
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
