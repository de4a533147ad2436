package lockblock

import (
	"go/constant"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// Counted channels.
//
// A function often makes a channel with room for the few values it will
// ever be sent, and hands it to goroutines that only receive from it:
//
//	done := make(chan bool, 1)
//	defer func() { done <- true }()
//	go func() {
//		select {
//		case <-done:
//		case <-timeout:
//		}
//	}()
//
// No send into it can wait, whoever receives: the sends, all of them, fit
// in its buffer. A send is not a wait when its channel is made in the
// function with a constant capacity k above 0, kept in a variable that
// nothing sets again and that nothing reads or captures before it is set
// (a nil channel waits for ever), and used only by sends, receives,
// selects that receive from it, len, cap, close and comparisons, in the
// function and in func literals it makes; and when there are at most k
// sends into it, each outside any loop of its function, either in the
// function itself or in a func literal that the function uses only as
// what one call, go statement or defer outside any loop calls. A channel
// handed to a function, stored anywhere else, converted or returned is
// not counted: whoever gets it could send into it.

// countedSend reports whether send puts a value into a counted channel.
func (c *checker) countedSend(send *ssa.Send) bool {
	mc, home := c.countedChan(send.Chan)
	if mc == nil {
		return false
	}
	// The send itself is counted, so a capacity of 0 allows none.
	k, ok := mc.Size.(*ssa.Const)
	if !ok || k.Value == nil {
		return false
	}
	// ToInt leaves an Int or an Unknown, which Int64Val takes.
	limit, exact := constant.Int64Val(constant.ToInt(k.Value))
	if !exact {
		return false
	}
	sends := 0
	if !c.countUses(mc, home, &sends) {
		return false
	}
	return sends <= int(limit)
}

// countedChan returns the make of the channel that v, the channel of a
// send, is, and the cell of the variable that holds it if func literals
// capture it: v is the make itself, a load of that cell in the function
// that made it, or a load of a free variable bound to that cell in a func
// literal it made.
func (c *checker) countedChan(v ssa.Value) (*ssa.MakeChan, *ssa.Alloc) {
	if mc, ok := v.(*ssa.MakeChan); ok {
		return mc, nil
	}
	load, ok := v.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return nil, nil
	}
	var cell *ssa.Alloc
	switch x := load.X.(type) {
	case *ssa.Alloc:
		cell = x
	case *ssa.FreeVar:
		cell = boundCell(x)
	}
	if cell == nil || !cell.Heap {
		return nil, nil
	}
	var mc *ssa.MakeChan
	for _, ref := range *cell.Referrers() {
		st, ok := ref.(*ssa.Store)
		if !ok || st.Addr != ssa.Value(cell) {
			continue
		}
		m, ok := st.Val.(*ssa.MakeChan)
		if !ok || mc != nil || m.Parent() != cell.Parent() {
			// Set again, or to a channel made elsewhere.
			return nil, nil
		}
		mc = m
	}
	return mc, cell
}

// boundCell returns the cell that fv, a free variable of a func literal,
// is bound to by the one MakeClosure of the literal in its enclosing
// function, or nil.
func boundCell(fv *ssa.FreeVar) *ssa.Alloc {
	lit := fv.Parent()
	outer := lit.Parent()
	if outer == nil {
		return nil
	}
	i := -1
	for j, f := range lit.FreeVars {
		if f == fv {
			i = j
		}
	}
	var cell *ssa.Alloc
	for _, b := range outer.Blocks {
		for _, instr := range b.Instrs {
			mk, ok := instr.(*ssa.MakeClosure)
			if !ok || mk.Fn != lit {
				continue
			}
			a, ok := mk.Bindings[i].(*ssa.Alloc)
			if !ok || cell != nil {
				return nil
			}
			cell = a
		}
	}
	return cell
}

// countUses reports whether the channel mc, also held in cell if cell is
// not nil, goes only where countedSend allows, in the function that made
// it and the func literals that capture the cell; it adds the
// sends it finds to *sends.
func (c *checker) countUses(mc *ssa.MakeChan, cell *ssa.Alloc, sends *int) bool {
	if !c.countedUse(mc, cell, sends) {
		return false
	}
	if cell == nil {
		return true
	}
	var store *ssa.Store
	for _, ref := range *cell.Referrers() {
		if st, ok := ref.(*ssa.Store); ok && st.Addr == ssa.Value(cell) && st.Val == ssa.Value(mc) {
			store = st
		}
	}
	for _, ref := range *cell.Referrers() {
		if _, debug := ref.(*ssa.DebugRef); !debug && ref != ssa.Instruction(store) && (store == nil || !precedes(store, ref)) {
			// Read, or captured, where the variable may still hold
			// nil: a send into it waits for ever.
			return false
		}
		switch r := ref.(type) {
		case *ssa.DebugRef:
		case *ssa.Store:
			if r.Addr != ssa.Value(cell) || r.Val != ssa.Value(mc) {
				return false
			}
		case *ssa.UnOp:
			if r.Op != token.MUL || !c.countedUse(r, nil, sends) {
				return false
			}
		case *ssa.MakeClosure:
			if !c.litUses(r, cell, sends) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// litUses reports whether the func literal that mk makes, capturing cell,
// only loads the channel from it and uses the loads as countedSend
// allows, and whether, if it sends into it, what mk makes is called
// once; it adds the literal's sends to *sends.
func (c *checker) litUses(mk *ssa.MakeClosure, cell *ssa.Alloc, sends *int) bool {
	lit := mk.Fn.(*ssa.Function)
	n := 0
	for i, b := range mk.Bindings {
		if b != ssa.Value(cell) {
			continue
		}
		for _, ref := range *lit.FreeVars[i].Referrers() {
			switch r := ref.(type) {
			case *ssa.DebugRef:
			case *ssa.UnOp:
				if r.Op != token.MUL || !c.countedUse(r, nil, &n) {
					return false
				}
			default:
				// Handed on, or captured again by a literal inside.
				return false
			}
		}
	}
	if n > 0 && !c.calledOnce(mk) {
		return false
	}
	*sends += n
	return true
}

// calledOnce reports whether the closure mk makes is used only as what
// one call, go statement or defer, outside any loop, calls. Made in a
// loop, it is made afresh each turn, but only the one that call calls
// can send.
func (c *checker) calledOnce(mk *ssa.MakeClosure) bool {
	refs := *mk.Referrers()
	used := 0
	for _, ref := range refs {
		switch r := ref.(type) {
		case *ssa.DebugRef:
			continue
		case ssa.CallInstruction:
			com := r.Common()
			if com.Value != ssa.Value(mk) || com.IsInvoke() || c.inLoop(r.Block()) {
				return false
			}
			for _, a := range com.Args {
				if a == ssa.Value(mk) {
					return false
				}
			}
			used++
		default:
			return false
		}
	}
	return used == 1
}

// countedUse reports whether v, the channel, goes only into sends (outside
// any loop, counted into *sends), receives, selects that receive from it,
// len, cap, close, comparisons and, if cell is not nil, a store into cell.
func (c *checker) countedUse(v ssa.Value, cell *ssa.Alloc, sends *int) bool {
	for _, ref := range *v.Referrers() {
		switch r := ref.(type) {
		case *ssa.DebugRef, *ssa.BinOp:
		case *ssa.Store:
			if cell == nil || r.Addr != ssa.Value(cell) || r.Val != v {
				return false
			}
		case *ssa.Send:
			if r.Chan != v || r.X == v || c.inLoop(r.Block()) {
				return false
			}
			*sends++
		case *ssa.UnOp:
			if r.Op != token.ARROW {
				return false
			}
		case *ssa.Select:
			for _, st := range r.States {
				if st.Send == v || st.Chan == v && st.Dir != types.RecvOnly {
					return false
				}
			}
		case *ssa.Call:
			b, ok := r.Call.Value.(*ssa.Builtin)
			if !ok {
				return false
			}
			switch b.Name() {
			case "len", "cap", "close":
			default:
				return false
			}
		default:
			return false
		}
	}
	return true
}
