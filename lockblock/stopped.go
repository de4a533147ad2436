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
//     its function makes, before the function uses the struct other than
//     through its fields (before it starts a goroutine on it), and no
//     struct holding it is copied whole, seen as another type or kept in
//     a container: it is the same channel for the struct's life. The
//     struct's type is unexported, not generic, and held, not through a
//     pointer, by no exported type (another package could copy it);
//   - for a WaitGroup, the package uses the field only by Add(1) right
//     before a go statement, in the same block with nothing in between
//     but loads of the struct's fields, that runs a function of the
//     package (not a func literal) on the same struct, by Done (called
//     or deferred) in such a function through its receiver, and by Wait;
//   - for a done channel, the field is set like the stop channel, every
//     struct the package makes is given one (a nil channel blocks for
//     ever), and each function that sets it starts, after that and
//     before it returns or hands the struct to anything, a goroutine on
//     the struct that closes the field through its receiver;
//   - each such goroutine, a worker, marks itself done (Done, or the
//     close of the done field) by a call deferred in its first block
//     before any other call or defer, or else by a call in a block that
//     every return comes after, and then defers nothing and calls no
//     runtime.Goexit (either could skip the call); it starts no
//     goroutine, nor does any function of the package that it calls or
//     hands on as a func value (one that counts a successor keeps the
//     count up), and none of those calls runtime.Goexit unless the
//     marking is deferred;
//   - a worker waits for nothing but its receiver's stop channel: each
//     receive is from it, each select without a default has a case that
//     receives from it, and everything else, deferred calls and callees
//     included, is as clean as a served queue's reader (no lock, no other
//     send, no call that may wait, no call through a func value or an
//     interface, no call back into the worker);
//   - a worker comes to its end once told: every cycle of its blocks
//     passes a receive from the stop channel or a select with a case
//     that receives from it, and from the way each of those goes on once
//     the channel is closed (the select's case; for a comma-ok receive
//     followed by a branch on ok, the branch where ok is false), every
//     path reaches a return or a panic without coming round again.
//
// A worker that looks at the stop channel only after other work that may
// wait, or that goes round again after it, holds the wait, and is
// reported. Loops inside the functions a worker calls are taken to end;
// code that copies a struct or sets its field through reflect or unsafe
// is not seen.

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
// call of close on a channel loaded from a field; a deferred close
// counts only if the deferred argument is true.
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
	if !c.setWhenMade(fns, stop, false) {
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
	for g, deferred := range workers {
		if !c.endsWhenTold(g, stop, deferred) {
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
// sets only in structs that the setting function makes, before it uses
// the struct in any other way than through its fields (before it starts
// a goroutine on it, say), and whose structs are never copied whole: it
// keeps one value for a struct's life. If given, every struct of the
// owner that the package makes is given a value there, and no zero value
// of it is used: a nil channel blocks for ever. A generic owner is not
// followed: its instances are not told apart from the generic type when
// a copy is looked for.
func (c *checker) setWhenMade(fns []*ssa.Function, v *types.Var, given bool) bool {
	anyLoad := func(*ssa.UnOp) bool { return true }
	made := func(st *ssa.Store) bool {
		alloc, ok := st.Addr.(*ssa.FieldAddr).X.(*ssa.Alloc)
		if !ok {
			return false
		}
		for _, ref := range *alloc.Referrers() {
			switch ref.(type) {
			case *ssa.FieldAddr, *ssa.DebugRef:
				continue
			}
			if !precedes(st, ref) {
				return false
			}
		}
		return true
	}
	owner := fieldOwner(fns, v, anyLoad, made)
	if owner == nil || generic(owner) || c.copyable(owner) {
		return false
	}
	return c.notCopied(fns, v, owner, given)
}

// copyable reports whether another package may copy a struct of type
// owner whole: owner is exported, or an exported type of the package
// holds one, not through a pointer (c := *pkg.New() is not a copy that
// vet's copylocks reports).
func (c *checker) copyable(owner types.Type) bool {
	n, ok := types.Unalias(owner).(*types.Named)
	if !ok || n.Obj().Exported() {
		return true
	}
	scope := c.pass.Pkg.Scope()
	for _, name := range scope.Names() {
		if tn, ok := scope.Lookup(name).(*types.TypeName); ok && tn.Exported() && holds(tn.Type(), owner, 0) {
			return true
		}
	}
	return false
}

// generic reports whether t is a generic type or an instance of one.
func generic(t types.Type) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && (n.TypeParams().Len() > 0 || n.TypeArgs().Len() > 0)
}

// groupWorkers returns the functions that the WaitGroup field v counts:
// each Add(1) of it comes right before a go statement that runs one on
// the same struct, and Done is called only in them, through the receiver.
func (c *checker) groupWorkers(fns []*ssa.Function, v *types.Var) (map[*ssa.Function]bool, bool) {
	if v.Exported() {
		return nil, false
	}
	workers := map[*ssa.Function]bool{}
	var dones []ssa.CallInstruction
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
					call, ok := ref.(ssa.CallInstruction)
					if !ok || call.Common().IsInvoke() || len(call.Common().Args) == 0 || call.Common().Args[0] != ssa.Value(fa) {
						return nil, false
					}
					callee := call.Common().StaticCallee()
					_, deferred := call.(*ssa.Defer)
					plain, _ := call.(*ssa.Call)
					switch {
					case callee == nil, deferred && !isFunc(callee, "(*sync.WaitGroup).Done"):
						return nil, false
					case isFunc(callee, "(*sync.WaitGroup).Wait"):
					case isFunc(callee, "(*sync.WaitGroup).Done"):
						dones = append(dones, call)
					case isFunc(callee, "(*sync.WaitGroup).Add"):
						g := c.startedAfter(plain, fa.X)
						if g == nil || !isOne(call.Common().Args[1]) {
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
		fa := d.Common().Args[0].(*ssa.FieldAddr)
		if !workers[d.Parent()] || !isReceiver(d.Parent(), fa.X) {
			return nil, false
		}
	}
	for g := range workers {
		ok, deferred := marksDone(g, func(instr ssa.Instruction) bool {
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
		})
		if !ok {
			return nil, false
		}
		workers[g] = deferred
	}
	return workers, true
}

// isOne reports whether v is the constant 1.
func isOne(v ssa.Value) bool {
	k, ok := v.(*ssa.Const)
	return ok && k.Value != nil && k.Value.Kind() == constant.Int && constant.Compare(k.Value, token.EQL, constant.MakeInt64(1))
}

// startedAfter returns the function of the package that the go statement
// right after add, in its block, runs on x, with nothing in between but
// loads of x's fields, which cannot panic once add has run on one of
// them (an index, say, could, and leave the count taken); nil if there
// is none.
func (c *checker) startedAfter(add *ssa.Call, x ssa.Value) *ssa.Function {
	if add == nil {
		return nil
	}
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
		case *ssa.DebugRef:
		case *ssa.FieldAddr:
			if in.X != x {
				return nil
			}
		case *ssa.UnOp:
			if fa, ok := in.X.(*ssa.FieldAddr); in.Op != token.MUL || !ok || fa.X != x {
				return nil
			}
		default:
			return nil
		}
	}
	return nil
}

// doneWorkers returns the functions that close the channel field v, a
// done channel: v is set only in structs that the setting function makes,
// and each function that sets it starts one of them on the struct after
// that; they close it through their receiver.
func (c *checker) doneWorkers(fns []*ssa.Function, v *types.Var) (map[*ssa.Function]bool, bool) {
	if !c.setWhenMade(fns, v, true) {
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
			if c.startsFirst(st, g) {
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
		ok, deferred := marksDone(g, func(instr ssa.Instruction) bool {
			fa := closedField(instr, true)
			return fa != nil && fieldVar(fa.X.Type(), fa.Field) == v && isReceiver(g, fa.X)
		})
		if !ok {
			return nil, false
		}
		started[g] = deferred
	}
	return started, true
}

// startsFirst reports whether the function of st, a store of a done
// channel into a struct it makes, starts g on the struct after the store,
// on every path before it returns, and before it hands the struct to
// anything: a panic between the two, recovered by a caller that was
// handed the struct, would leave it without a worker.
func (c *checker) startsFirst(st *ssa.Store, g *ssa.Function) bool {
	alloc := st.Addr.(*ssa.FieldAddr).X
	for _, b := range st.Block().Parent().Blocks {
		for _, instr := range b.Instrs {
			gs, ok := instr.(*ssa.Go)
			if !ok || gs.Call.IsInvoke() || c.goroutineFunc(gs.Call.Value) != g || len(gs.Call.Args) == 0 || gs.Call.Args[0] != alloc {
				continue
			}
			if _, closure := gs.Call.Value.(*ssa.MakeClosure); closure || !precedes(st, gs) || !beforeReturns(b) {
				continue
			}
			first := true
			for _, ref := range *alloc.Referrers() {
				switch ref.(type) {
				case *ssa.FieldAddr, *ssa.DebugRef:
					continue
				}
				if ref != ssa.Instruction(gs) && !precedes(gs, ref) {
					first = false
				}
			}
			if first {
				return true
			}
		}
	}
	return false
}

// marksDone reports whether g does what done accepts on every path to its
// end: by a call deferred in its first block before any other call or
// defer (a recover deferred before it, or a call that ends the goroutine
// before it is deferred, would skip it), or by a call in a block that
// comes before every return; deferred says which.
func marksDone(g *ssa.Function, done func(ssa.Instruction) bool) (ok, deferred bool) {
	if len(g.Blocks) > 0 {
		for _, instr := range g.Blocks[0].Instrs {
			if _, d := instr.(*ssa.Defer); d && done(instr) {
				return true, true
			}
			if _, call := instr.(ssa.CallInstruction); call {
				break
			}
		}
	}
	for _, b := range g.Blocks {
		for _, instr := range b.Instrs {
			if _, call := instr.(*ssa.Call); call && done(instr) && beforeReturns(b) {
				ok = true
			}
		}
	}
	return ok, false
}

// endsWhenTold reports whether g, a worker, waits for nothing but the
// stop field of its receiver, and once that channel is closed runs to its
// end without waiting. Unless its marking is deferred, it defers nothing
// (a deferred recover would skip a panic past the marking) and does not
// call runtime.Goexit; it starts no goroutine (one that counts a successor
// keeps the count up for ever).
func (c *checker) endsWhenTold(g *ssa.Function, stop *types.Var, deferred bool) bool {
	isStop := func(ch ssa.Value) bool {
		fa := fieldOfChan(ch)
		return fa != nil && fieldVar(fa.X.Type(), fa.Field) == stop && isReceiver(g, fa.X)
	}
	told := func(instr ssa.Instruction) bool {
		switch in := instr.(type) {
		case *ssa.UnOp:
			return in.Op == token.ARROW && isStop(in.X)
		case *ssa.Select:
			for _, st := range in.States {
				if st.Dir == types.RecvOnly && isStop(st.Chan) {
					return true
				}
			}
		}
		return false
	}
	if c.spawnsOrExits(g, !deferred, map[*ssa.Function]bool{}) {
		return false
	}
	// A call back into g is not clean: cleanFunc finds its receives.
	seen := map[*ssa.Function]bool{}
	for _, b := range g.Blocks {
		for _, instr := range b.Instrs {
			switch in := instr.(type) {
			case *ssa.UnOp:
				if in.Op == token.ARROW && !told(in) {
					return false
				}
				continue
			case *ssa.Select:
				if in.Blocking && !told(in) {
					return false
				}
				continue
			case *ssa.Defer:
				// Deferred calls run before the worker's end, and a
				// deferred Done after them.
				if !deferred || !c.cleanCall(in.Common(), seen) {
					return false
				}
				continue
			}
			if !c.cleanInstr(instr, seen, false) {
				return false
			}
		}
	}
	return endsOnceTold(g, told, isStop)
}

// spawnsOrExits reports whether fn, or a function of the package that it
// calls, makes or hands on as a func value (strings.Map(f, s) calls f),
// starts a goroutine, or, if goexit, calls runtime.Goexit.
func (c *checker) spawnsOrExits(fn *ssa.Function, goexit bool, seen map[*ssa.Function]bool) bool {
	if seen[fn] {
		return false
	}
	seen[fn] = true
	for _, anon := range fn.AnonFuncs {
		if c.spawnsOrExits(anon, goexit, seen) {
			return true
		}
	}
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if _, ok := instr.(*ssa.Go); ok {
				return true
			}
			if call, ok := instr.(ssa.CallInstruction); ok {
				if callee := call.Common().StaticCallee(); callee != nil && goexit && isFunc(callee, "runtime.Goexit") {
					return true
				}
				if local := c.localCallee(call.Common()); local != nil && c.spawnsOrExits(local, goexit, seen) {
					return true
				}
			}
			for _, op := range instr.Operands(nil) {
				if *op == nil {
					continue
				}
				if f := c.goroutineFunc(*op); f != nil && c.spawnsOrExits(f, goexit, seen) {
					return true
				}
			}
		}
	}
	return false
}

// endsOnceTold reports whether g, once its stop channel is closed, comes
// to its end: every cycle of its blocks passes a told point (a receive
// from the stop channel, or a select with a case that receives from it),
// and from the way each told point goes on once the channel is closed
// (the case of the select that receives from it; the branch of a
// comma-ok receive where ok is false, if the receive is followed by one),
// every path reaches a return or a panic without coming round again.
// isStop tells a load of the stop channel.
func endsOnceTold(g *ssa.Function, told func(ssa.Instruction) bool, isStop func(ssa.Value) bool) bool {
	toldBlock := make([]bool, len(g.Blocks))
	var points []ssa.Instruction
	for _, b := range g.Blocks {
		for _, instr := range b.Instrs {
			if told(instr) {
				toldBlock[b.Index] = true
				points = append(points, instr)
			}
		}
	}
	// No cycle avoids every told point.
	state := make([]int, len(g.Blocks)) // 0 new, 1 on the path, 2 done
	var cycle func(b *ssa.BasicBlock) bool
	cycle = func(b *ssa.BasicBlock) bool {
		state[b.Index] = 1
		for _, s := range b.Succs {
			if toldBlock[s.Index] {
				continue
			}
			switch state[s.Index] {
			case 1:
				return true
			case 0:
				if cycle(s) {
					return true
				}
			}
		}
		state[b.Index] = 2
		return false
	}
	for _, b := range g.Blocks {
		if !toldBlock[b.Index] && state[b.Index] == 0 && cycle(b) {
			return false
		}
	}
	// From each told point, the way on once told ends.
	for _, p := range points {
		starts, ok := onceClosed(p, isStop)
		if !ok {
			return false
		}
		for _, start := range starts {
			clear(state)
			if !ends(start, state) {
				return false
			}
		}
	}
	return true
}

// ends reports whether every path from b reaches a return or a panic
// without coming round again.
func ends(b *ssa.BasicBlock, state []int) bool {
	state[b.Index] = 1
	for _, s := range b.Succs {
		switch state[s.Index] {
		case 1:
			return false
		case 0:
			if !ends(s, state) {
				return false
			}
		}
	}
	state[b.Index] = 2
	return true
}

// onceClosed returns the blocks where the told point p goes on once the
// stop channel is closed: for a receive, its own block (the rest of it)
// or, for a comma-ok receive followed in its block by a branch on ok,
// the branch where ok is false; for a select, the first block of each
// case that receives from the stop channel, or of its branch where ok is
// false. ok is false if they cannot be found.
func onceClosed(p ssa.Instruction, isStop func(ssa.Value) bool) (starts []*ssa.BasicBlock, ok bool) {
	switch in := p.(type) {
	case *ssa.UnOp:
		if in.CommaOk {
			if b := okFalse(in.Block(), in); b != nil {
				return []*ssa.BasicBlock{b}, true
			}
		}
		return []*ssa.BasicBlock{in.Block()}, true
	case *ssa.Select:
		for i, st := range in.States {
			if st.Dir != types.RecvOnly || !isStop(st.Chan) {
				continue
			}
			body := caseBlock(in, i)
			if body == nil {
				return nil, false
			}
			if b := okFalse(body, in); b != nil {
				body = b
			}
			starts = append(starts, body)
		}
		return starts, len(starts) > 0
	}
	return nil, false
}

// okFalse returns the branch that b takes when the ok of the receive v
// (a comma-ok receive, or a select) is false, if b ends in a branch on it.
func okFalse(b *ssa.BasicBlock, v ssa.Value) *ssa.BasicBlock {
	if len(b.Instrs) == 0 {
		return nil
	}
	br, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If)
	if !ok {
		return nil
	}
	cond, negated := br.Cond, false
	if not, ok := cond.(*ssa.UnOp); ok && not.Op == token.NOT {
		cond, negated = not.X, true
	}
	x, ok := cond.(*ssa.Extract)
	if !ok || x.Tuple != v || x.Index != 1 {
		return nil
	}
	if negated {
		return br.Block().Succs[0]
	}
	return br.Block().Succs[1]
}

// caseBlock returns the first block of case i of sel: the branch taken
// when the index it returns is i.
func caseBlock(sel *ssa.Select, i int) *ssa.BasicBlock {
	for _, ref := range *sel.Referrers() {
		x, ok := ref.(*ssa.Extract)
		if !ok || x.Index != 0 {
			continue
		}
		for _, use := range *x.Referrers() {
			eq, ok := use.(*ssa.BinOp)
			if !ok || eq.Op != token.EQL || eq.X != ssa.Value(x) {
				continue
			}
			k, ok := eq.Y.(*ssa.Const)
			if !ok || k.Value == nil || k.Value.Kind() != constant.Int {
				continue
			}
			if n, exact := constant.Int64Val(k.Value); !exact || n != int64(i) {
				continue
			}
			for _, u := range *eq.Referrers() {
				if br, ok := u.(*ssa.If); ok && br.Cond == ssa.Value(eq) {
					return br.Block().Succs[0]
				}
			}
		}
	}
	return nil
}
