package lockblock

import (
	"go/constant"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// Goroutines told to stop.
//
// A close often tells the goroutines of a struct to stop and waits for
// them, with its lock held:
//
//	func (s *sub) close() {
//		close(s.stop)
//		s.wg.Wait()
//	}
//
//	func (s *sub) deliver(v int) {
//		select {
//		case s.out <- v:
//		case <-s.stop:
//		}
//		s.wg.Done()
//	}
//
// Once the stop channel is closed, a goroutine that waits for nothing but
// it runs to its end, and the wait lasts only as long as its work in
// memory. Such a wait is not reported when:
//
//   - it is a Wait on a WaitGroup field (s.wg.Wait()) or a receive from
//     a channel field (<-s.done), and close(s.stop) of a channel field
//     of the same struct value comes before it on every path of its
//     function;
//   - the stop channel is an unexported field set only in a struct that
//     its function makes (a constructor), never copied whole, so that it
//     is the same channel for the struct's life;
//   - for a WaitGroup, the package uses the field only by Add(1) right
//     before (in the same block, with no call in between) a go statement
//     that runs a function of the package on the same struct, by Done in
//     such a function through its receiver, and by Wait;
//   - for a done channel, an unexported field set only in a struct that
//     its function makes, each function that sets it starts, after that
//     and before it returns, a goroutine on the struct that closes the
//     field through its receiver; each such function, the workers, are
//     found as served queues' readers are;
//   - every worker marks itself done (Done, or close of the done field)
//     on every path to its end, and waits for nothing but its receiver's
//     stop channel: each receive is from it, each select without a
//     default has a case that receives from it, and everything else,
//     deferred calls and callees included, is as clean as a served
//     queue's reader (no lock, no other send, no call that may wait, no
//     call through a func value or an interface).
//
// A worker that the stop channel wakes only after other work of its own
// that may wait would hold the wait, and is reported.

// stoppedWait reports whether instr is a wait on goroutines told to stop.
func (c *checker) stoppedWait(instr ssa.Instruction) bool {
	return c.stopped[instr]
}

// findStopped records the waits on goroutines told to stop; fns are the
// package's functions, as findEmptied gathers them.
func (c *checker) findStopped(fns []*ssa.Function) {
	type pair struct{ stop, wait *types.Var }
	memo := map[pair]bool{}
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				fa := waitedField(instr)
				if fa == nil {
					continue
				}
				wait := fieldVar(fa.X.Type(), fa.Field)
				if wait == nil {
					continue
				}
				for _, stop := range closedBefore(instr, fa.X) {
					p := pair{stop, wait}
					ok, seen := memo[p]
					if !seen {
						ok = c.toldToStop(fns, stop, wait)
						memo[p] = ok
					}
					if ok {
						c.stopped[instr] = true
						break
					}
				}
			}
		}
	}
}

// waitedField returns the field that instr waits on, if it is a Wait on
// a WaitGroup field or a receive from a channel field.
func waitedField(instr ssa.Instruction) *ssa.FieldAddr {
	switch in := instr.(type) {
	case *ssa.Call:
		callee := in.Call.StaticCallee()
		if callee == nil || !isFunc(callee, "(*sync.WaitGroup).Wait") || len(in.Call.Args) != 1 {
			return nil
		}
		fa, _ := in.Call.Args[0].(*ssa.FieldAddr)
		return fa
	case *ssa.UnOp:
		if in.Op == token.ARROW {
			return fieldOfChan(in.X)
		}
	}
	return nil
}

// closedBefore returns the channel fields of x that are closed before
// instr on every path of its function.
func closedBefore(instr ssa.Instruction, x ssa.Value) []*types.Var {
	var vs []*types.Var
	for _, b := range instr.Parent().Blocks {
		for _, in := range b.Instrs {
			fa := closedField(in, false)
			if fa == nil || fa.X != x || !precedes(in, instr) {
				continue
			}
			if v := fieldVar(fa.X.Type(), fa.Field); v != nil {
				vs = append(vs, v)
			}
		}
	}
	return vs
}

// closedField returns the field whose channel instr closes, if it is a
// call of close on a channel loaded from a field; a deferred close counts
// only if deferred.
func closedField(instr ssa.Instruction, deferred bool) *ssa.FieldAddr {
	var call *ssa.CallCommon
	switch in := instr.(type) {
	case *ssa.Call:
		call = in.Common()
	case *ssa.Defer:
		if !deferred {
			return nil
		}
		call = in.Common()
	default:
		return nil
	}
	if b, ok := call.Value.(*ssa.Builtin); !ok || b.Name() != "close" || len(call.Args) != 1 {
		return nil
	}
	return fieldOfChan(call.Args[0])
}

// toldToStop reports whether a wait on the field wait, after a close of
// the field stop of the same struct, waits only for workers that end once
// stop is closed.
func (c *checker) toldToStop(fns []*ssa.Function, stop, wait *types.Var) bool {
	if !c.setWhenMade(fns, stop) {
		return false
	}
	var workers map[*ssa.Function]bool
	var ok bool
	if isWaitGroup(wait.Type()) {
		workers, ok = c.groupWorkers(fns, wait)
	} else {
		workers, ok = c.doneWorkers(fns, wait)
	}
	if !ok || len(workers) == 0 {
		return false
	}
	for g := range workers {
		if !c.endsWhenTold(g, stop) {
			return false
		}
	}
	return true
}

// isWaitGroup reports whether t is sync.WaitGroup.
func isWaitGroup(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "sync" && n.Obj().Name() == "WaitGroup"
}

// setWhenMade reports whether v is an unexported field that the package
// sets only in structs that the setting function makes, and whose structs
// are never copied whole: it keeps one value for a struct's life.
func (c *checker) setWhenMade(fns []*ssa.Function, v *types.Var) bool {
	anyLoad := func(*ssa.UnOp) bool { return true }
	made := func(st *ssa.Store) bool {
		_, ok := st.Addr.(*ssa.FieldAddr).X.(*ssa.Alloc)
		return ok
	}
	owner := fieldOwner(fns, v, anyLoad, made)
	return owner != nil && c.notCopied(fns, v, owner, false)
}

// groupWorkers returns the functions that the WaitGroup field v counts:
// each Add(1) of it comes right before a go statement that runs one on
// the same struct, and Done is called only in them, through the receiver.
func (c *checker) groupWorkers(fns []*ssa.Function, v *types.Var) (map[*ssa.Function]bool, bool) {
	if v.Exported() {
		return nil, false
	}
	workers := map[*ssa.Function]bool{}
	var dones []*ssa.Call
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if f, ok := instr.(*ssa.Field); ok && fieldVar(f.X.Type(), f.Field) == v {
					return nil, false
				}
				fa, ok := instr.(*ssa.FieldAddr)
				if !ok || fieldVar(fa.X.Type(), fa.Field) != v {
					continue
				}
				for _, ref := range *fa.Referrers() {
					if _, debug := ref.(*ssa.DebugRef); debug {
						continue
					}
					call, ok := ref.(*ssa.Call)
					if !ok || call.Call.IsInvoke() || len(call.Call.Args) == 0 || call.Call.Args[0] != ssa.Value(fa) {
						return nil, false
					}
					callee := call.Call.StaticCallee()
					switch {
					case callee == nil:
						return nil, false
					case isFunc(callee, "(*sync.WaitGroup).Wait"):
					case isFunc(callee, "(*sync.WaitGroup).Done"):
						dones = append(dones, call)
					case isFunc(callee, "(*sync.WaitGroup).Add"):
						g := c.startedAfter(call, fa.X)
						if g == nil || !isOne(call.Call.Args[1]) {
							return nil, false
						}
						workers[g] = true
					default:
						return nil, false
					}
				}
			}
		}
	}
	for _, d := range dones {
		fa := d.Call.Args[0].(*ssa.FieldAddr)
		if !workers[d.Parent()] || !isReceiver(d.Parent(), fa.X) {
			return nil, false
		}
	}
	for g := range workers {
		if !marksDone(g, func(instr ssa.Instruction) bool {
			call, ok := instr.(ssa.CallInstruction)
			if !ok {
				return false
			}
			callee := call.Common().StaticCallee()
			if callee == nil || !isFunc(callee, "(*sync.WaitGroup).Done") {
				return false
			}
			fa, ok := call.Common().Args[0].(*ssa.FieldAddr)
			return ok && fieldVar(fa.X.Type(), fa.Field) == v && isReceiver(g, fa.X)
		}) {
			return nil, false
		}
	}
	return workers, true
}

// isOne reports whether v is the constant 1.
func isOne(v ssa.Value) bool {
	k, ok := v.(*ssa.Const)
	return ok && k.Value != nil && k.Value.Kind() == constant.Int && constant.Compare(k.Value, token.EQL, constant.MakeInt64(1))
}

// startedAfter returns the function of the package that the go statement
// right after add, in its block, runs on x, with no call, send, receive
// or select in between; nil if there is none.
func (c *checker) startedAfter(add *ssa.Call, x ssa.Value) *ssa.Function {
	b := add.Block()
	for _, instr := range b.Instrs[index(add)+1:] {
		switch in := instr.(type) {
		case *ssa.Go:
			if _, closure := in.Call.Value.(*ssa.MakeClosure); closure || in.Call.IsInvoke() {
				return nil
			}
			g := c.goroutineFunc(in.Call.Value)
			if g == nil || len(in.Call.Args) == 0 || in.Call.Args[0] != x {
				return nil
			}
			return g
		case ssa.CallInstruction, *ssa.Send, *ssa.Select:
			return nil
		case *ssa.UnOp:
			if in.Op == token.ARROW {
				return nil
			}
		}
	}
	return nil
}

// doneWorkers returns the functions that close the channel field v, a
// done channel: v is set only in structs that the setting function makes,
// and each function that sets it starts one of them on the struct after
// that; they close it through their receiver.
func (c *checker) doneWorkers(fns []*ssa.Function, v *types.Var) (map[*ssa.Function]bool, bool) {
	if !c.setWhenMade(fns, v) {
		return nil, false
	}
	workers := map[*ssa.Function]bool{}
	var stores []*ssa.Store
	for _, fn := range fns {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if fa := closedField(instr, true); fa != nil && fieldVar(fa.X.Type(), fa.Field) == v && isReceiver(fn, fa.X) {
					workers[fn] = true
				}
				fa, ok := instr.(*ssa.FieldAddr)
				if !ok || fieldVar(fa.X.Type(), fa.Field) != v {
					continue
				}
				for _, ref := range *fa.Referrers() {
					if st, ok := ref.(*ssa.Store); ok {
						stores = append(stores, st)
					}
				}
			}
		}
	}
	if len(stores) == 0 {
		return nil, false
	}
	started := map[*ssa.Function]bool{}
	for _, st := range stores {
		found := false
		for g := range workers {
			if c.startsReader(st, g) {
				started[g] = true
				found = true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	for g := range started {
		if !marksDone(g, func(instr ssa.Instruction) bool {
			fa := closedField(instr, true)
			return fa != nil && fieldVar(fa.X.Type(), fa.Field) == v && isReceiver(g, fa.X)
		}) {
			return nil, false
		}
	}
	return started, true
}

// marksDone reports whether g does what done accepts on every path to its
// end: in its first block by a deferred call, or in a block that comes
// before every return.
func marksDone(g *ssa.Function, done func(ssa.Instruction) bool) bool {
	for _, b := range g.Blocks {
		for _, instr := range b.Instrs {
			if !done(instr) {
				continue
			}
			if _, deferred := instr.(*ssa.Defer); deferred && b.Index == 0 {
				return true
			}
			if _, call := instr.(*ssa.Call); call && beforeReturns(b) {
				return true
			}
		}
	}
	return false
}

// endsWhenTold reports whether g, a worker, waits for nothing but the
// stop field of its receiver: once that channel is closed, it runs to its
// end without waiting.
func (c *checker) endsWhenTold(g *ssa.Function, stop *types.Var) bool {
	isStop := func(ch ssa.Value) bool {
		fa := fieldOfChan(ch)
		return fa != nil && fieldVar(fa.X.Type(), fa.Field) == stop && isReceiver(g, fa.X)
	}
	seen := map[*ssa.Function]bool{g: true}
	for _, b := range g.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.UnOp:
				if in.Op == token.ARROW && !isStop(in.X) {
					return false
				}
				continue
			case *ssa.Select:
				if !in.Blocking {
					continue
				}
				told := false
				for _, st := range in.States {
					if st.Dir == types.RecvOnly && isStop(st.Chan) {
						told = true
					}
				}
				if !told {
					return false
				}
				continue
			case *ssa.Defer:
				// Deferred calls run before the worker's end, and a
				// deferred Done after them.
				if !c.cleanCall(in.Common(), seen) {
					return false
				}
				continue
			}
			if !c.cleanInstr(instr, seen, false) {
				return false
			}
		}
	}
	return true
}
