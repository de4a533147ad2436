package lockblock

import (
	"go/constant"
	"go/token"
	"go/types"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// Summaries for constant arguments.
//
// A function's summary says whether it may block for some arguments. Many
// functions block only for some: enqueueAndFlush(p, doFlush bool) writes
// to the socket only when doFlush is true, and a caller that passes false
// never waits there; assign(how) with how == assignKeep never stops the
// session that assign(assignInvalidate) waits for. A call of a function of
// the package that passes a constant bool, or a constant number, string
// or nil that the function compares with a constant to choose a branch
// (an if or a switch on it), or a parameter of the caller that is
// constant in the case at hand, is summarised again, following only the
// branches that the constants take. closeWithError(nil) skips the
// waiting calls that only an error is handed to: a φ whose edges that
// are taken bring one constant is that constant, and a range over a nil
// map does not run its body.

// A bindings maps a parameter to its constant value, or a field of the
// struct a parameter points to, to the bits known to be set in it (see
// flags.go).
type bindings map[slot]constant.Value

func (b bindings) key() string {
	keys := make([]string, 0, len(b))
	for s, v := range b {
		k := strconv.Itoa(s.param)
		if s.field != nil {
			// The position tells two fields of one name apart.
			k += "." + s.field.Name() + "@" + strconv.Itoa(int(s.field.Pos()))
		}
		keys = append(keys, k+"="+v.ExactString())
	}
	slices.Sort(keys)
	return strings.Join(keys, ";")
}

type specKey struct {
	fn     *ssa.Function
	consts string
}

// maxSpecDepth bounds how deep specialised summaries nest.
const maxSpecDepth = 8

// constArgs returns the constant values that call passes to the
// parameters of the function of this package that it runs, given env, the
// bindings in force at the call in the calling function; nil if there are
// none. A value other than a bool counts only for a parameter that
// chooses a branch (see decides). A parameter of the caller handed on as
// it is brings the bits known in the fields it points to, if the callee
// reads those fields.
func (c *checker) constArgs(call *ssa.CallCommon, caller *ssa.Function, env bindings) (*ssa.Function, bindings) {
	st, ok := c.siteOf(call)
	if !ok || len(st.params) != len(st.fn.Params) {
		return nil, nil
	}
	var out bindings
	put := func(s slot, k constant.Value) {
		if out == nil {
			out = bindings{}
		}
		out[s] = k
	}
	for i, v := range st.params {
		if p, ok := v.(*ssa.Parameter); ok && caller != nil && env.hasFlags() {
			for s, k := range env {
				if s.field != nil && caller.Params[s.param] == p && c.readsField(st.fn.Params[i], s.field, maxDecidesDepth) {
					put(slot{i, s.field}, k)
				}
			}
		}
		k, ok := evalConst(v, caller, env)
		if !ok || (k.Kind() != constant.Bool && !c.decides(st.fn.Params[i], maxDecidesDepth)) {
			continue
		}
		put(slot{i, nil}, k)
	}
	return st.fn, out
}

// callEnv returns the bindings for the call that instr makes, given
// cur, those in force before it: a deferred call runs at return, when the
// bits of flag words known now may have changed.
func callEnv(instr ssa.Instruction, cur bindings) bindings {
	if _, ok := instr.(*ssa.Defer); ok && cur.hasFlags() {
		return withoutFlags(cur)
	}
	return cur
}

// readsField reports whether the field f of the struct that p points to
// is read in p's function, or in a function of the package that p is
// handed to, at most depth calls away.
func (c *checker) readsField(p *ssa.Parameter, f *types.Var, depth int) bool {
	for _, ref := range *p.Referrers() {
		switch ref := ref.(type) {
		case *ssa.FieldAddr:
			if g, _ := fieldOf(ref, p.Parent()); g == f {
				return true
			}
		case *ssa.Call:
			if depth == 0 {
				continue
			}
			st, ok := c.siteOf(ref.Common())
			if !ok || len(st.params) != len(st.fn.Params) {
				continue
			}
			for i, v := range st.params {
				if v == ssa.Value(p) && c.readsField(st.fn.Params[i], f, depth-1) {
					return true
				}
			}
		}
	}
	return false
}

// decides reports whether p, a parameter that is not a bool, is compared
// for equality with a constant in a condition of its function (an if or a
// case of a switch on it), or passed to a function of the package that
// does so, at most depth calls away.
func (c *checker) decides(p *ssa.Parameter, depth int) bool {
	for _, ref := range *p.Referrers() {
		switch ref := ref.(type) {
		case *ssa.BinOp:
			if ref.Op != token.EQL && ref.Op != token.NEQ {
				continue
			}
			if _, ok := ref.X.(*ssa.Const); !ok {
				if _, ok := ref.Y.(*ssa.Const); !ok {
					continue
				}
			}
			for _, use := range *ref.Referrers() {
				if _, ok := use.(*ssa.If); ok {
					return true
				}
			}
		case *ssa.Call:
			if depth == 0 {
				continue
			}
			st, ok := c.siteOf(ref.Common())
			if !ok || len(st.params) != len(st.fn.Params) {
				continue
			}
			for i, v := range st.params {
				if v == ssa.Value(p) && c.decides(st.fn.Params[i], depth-1) {
					return true
				}
			}
		}
	}
	return false
}

// maxDecidesDepth bounds how far decides follows a parameter.
const maxDecidesDepth = 3

// evalBool returns the value of v, a bool, if it is constant given env.
func evalBool(v ssa.Value, fn *ssa.Function, env bindings) (bool, bool) {
	k, ok := evalConst(v, fn, env)
	if !ok || k.Kind() != constant.Bool {
		return false, false
	}
	return constant.BoolVal(k), true
}

// evalConst returns the value of v if it is constant given env: a
// constant (nil as nilValue), a parameter that env binds, the negation of
// a constant bool, or the comparison of two constants for equality.
func evalConst(v ssa.Value, fn *ssa.Function, env bindings) (constant.Value, bool) {
	return evalIn(v, &frame{fn: fn, env: env})
}

// evalIn is evalConst in fr; it also follows the calls of one-line
// functions, and tests of bits known set in flag words.
func evalIn(v ssa.Value, fr *frame) (constant.Value, bool) {
	fn, env := fr.fn, fr.env
	switch v := v.(type) {
	case *ssa.Const:
		if v.IsNil() {
			return nilValue, true
		}
		if v.Value != nil {
			switch v.Value.Kind() {
			case constant.Bool, constant.Int, constant.String:
				return v.Value, true
			}
		}
	case *ssa.Parameter:
		if a, up, ok := fr.param(v); ok {
			return evalIn(a, up)
		}
		if fn != nil && env != nil {
			if i := slices.Index(fn.Params, v); i >= 0 {
				k, ok := env[slot{i, nil}]
				return k, ok
			}
		}
	case *ssa.Call:
		if r, rfr, ok := inlined(v, fr); ok {
			return evalIn(r, rfr)
		}
	case *ssa.Phi:
		return evalPhi(v, fr)
	case *ssa.Extract:
		// The first result of a step of a range over a nil map: false.
		if next, ok := v.Tuple.(*ssa.Next); ok && v.Index == 0 && !next.IsString {
			if r, ok := next.Iter.(*ssa.Range); ok {
				if k, ok := evalIn(r.X, fr); ok && k == nilValue {
					return constant.MakeBool(false), true
				}
			}
		}
	case *ssa.UnOp:
		if v.Op == token.NOT {
			if k, ok := evalIn(v.X, fr); ok && k.Kind() == constant.Bool {
				return constant.MakeBool(!constant.BoolVal(k)), true
			}
			break
		}
		if cell, ok := v.X.(*ssa.Alloc); ok && v.Op == token.MUL {
			// A parameter that a closure captures is kept in a cell:
			// its value is the parameter's if nothing else is stored,
			// here or in a closure, and its address goes nowhere else.
			var only ssa.Value
			for _, ref := range *cell.Referrers() {
				switch ref := ref.(type) {
				case *ssa.Store:
					if ref.Addr != cell || only != nil {
						return nil, false
					}
					only = ref.Val
				case *ssa.UnOp, *ssa.DebugRef:
				case *ssa.MakeClosure:
					if !onlyRead(ref, cell) {
						return nil, false
					}
				default:
					return nil, false
				}
			}
			if p, ok := only.(*ssa.Parameter); ok {
				return evalIn(p, fr)
			}
		}
	case *ssa.BinOp:
		if v.Op != token.EQL && v.Op != token.NEQ {
			break
		}
		if isNil(v.Y) && alwaysNil(v.X) || isNil(v.X) && alwaysNil(v.Y) {
			return constant.MakeBool(v.Op == token.EQL), true
		}
		x, okx := evalIn(v.X, fr)
		y, oky := evalIn(v.Y, fr)
		if okx && oky && (x == nilValue || y == nilValue) {
			return constant.MakeBool((x == y) == (v.Op == token.EQL)), true
		}
		if okx && oky && x.Kind() == y.Kind() {
			return constant.MakeBool(constant.Compare(x, v.Op, y)), true
		}
		if b, ok := flagTest(v, fr); ok {
			return constant.MakeBool(b), true
		}
	}
	return nil, false
}

// nilValue stands for the constant nil among constant values: an
// argument nil binds its parameter to it.
var nilValue = constant.MakeUnknown()

// evalPhi returns the value of the φ v if every edge of it that may be
// taken brings the same constant, leaving out edges that bring the φ
// itself back (a loop that keeps its value).
func evalPhi(v *ssa.Phi, fr *frame) (constant.Value, bool) {
	if fr.live == nil || fr.args != nil || fr.busy[v] {
		return nil, false
	}
	if fr.busy == nil {
		fr.busy = map[*ssa.Phi]bool{}
	}
	fr.busy[v] = true
	defer delete(fr.busy, v)
	var out constant.Value
	for i, e := range v.Edges {
		if e == ssa.Value(v) || !fr.live(v, i) {
			continue
		}
		k, ok := evalIn(e, fr)
		if !ok {
			return nil, false
		}
		switch {
		case out == nil:
			out = k
		case out == nilValue || k == nilValue:
			if out != k {
				return nil, false
			}
		case out.Kind() != k.Kind() || !constant.Compare(out, token.EQL, k):
			return nil, false
		}
	}
	return out, out != nil
}

// isNil reports whether v is the constant nil.
func isNil(v ssa.Value) bool {
	k, ok := v.(*ssa.Const)
	return ok && k.IsNil()
}

// alwaysNil reports whether v is a result that its call always gives as
// nil: every return of the function of this package that the call runs
// gives the constant nil there, or the same result of a call that always
// does, as an error result does for a function that never fails (a method
// that satisfies an interface, say). A branch on it is never taken. A
// typed nil pointer returned as an error is not the constant nil, and is
// not counted; nor is a named result, which a deferred function may set.
func alwaysNil(v ssa.Value) bool {
	return nilResult(v, maxNilDepth)
}

// maxNilDepth bounds how many calls deep nilResult follows a result.
const maxNilDepth = 4

func nilResult(v ssa.Value, depth int) bool {
	var call *ssa.Call
	i := 0
	switch v := v.(type) {
	case *ssa.Const:
		return v.IsNil()
	case *ssa.Call:
		call = v
	case *ssa.Extract:
		call, _ = v.Tuple.(*ssa.Call)
		i = v.Index
	}
	if call == nil || call.Call.IsInvoke() || depth == 0 {
		return false
	}
	fn := call.Call.StaticCallee()
	if fn == nil || fn.Signature.Results().Len() <= i {
		return false
	}
	if len(fn.Blocks) == 0 && fn.Origin() != nil {
		// An instance of a generic function: its body is the generic
		// one's.
		fn = fn.Origin()
	}
	rets := 0
	for _, b := range fn.Blocks {
		if len(b.Instrs) == 0 {
			continue
		}
		r, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return)
		if !ok {
			continue
		}
		if !nilResult(r.Results[i], depth-1) {
			return false
		}
		rets++
	}
	return rets > 0
}

// onlyRead reports whether the closure that mc makes only loads from the
// variable v that it captures.
func onlyRead(mc *ssa.MakeClosure, v ssa.Value) bool {
	fn, ok := mc.Fn.(*ssa.Function)
	if !ok {
		return false
	}
	for i, b := range mc.Bindings {
		if b != v || i >= len(fn.FreeVars) {
			continue
		}
		for _, ref := range *fn.FreeVars[i].Referrers() {
			switch ref := ref.(type) {
			case *ssa.UnOp:
				if ref.Op != token.MUL {
					return false
				}
			case *ssa.DebugRef:
			default:
				return false
			}
		}
	}
	return true
}

// specWhy returns how fn may block when its parameters have the constant
// values of env: only the branches that those values take are followed.
func (c *checker) specWhy(fn *ssa.Function, env bindings, depth int) summary {
	info := c.funcs[fn]
	if info == nil || info.never {
		return summary{}
	}
	if len(env) == 0 || depth > maxSpecDepth {
		return info.summary
	}
	if c.declared(fn) == declBlocking {
		return info.summary
	}
	k := specKey{fn, env.key()}
	if s, ok := c.spec[k]; ok {
		if c.specBusy[k] {
			c.specGuessed++
		}
		return s
	}
	// A recursive call adds nothing to the summary being made; but a
	// summary of another call made meanwhile that saw this guess may lack
	// what this one finds, and is not kept.
	c.spec[k] = summary{}
	c.specBusy[k] = true
	guessed := c.specGuessed
	defer delete(c.specBusy, k)
	var out summary
	r := c.reach(fn, env)
	flags := env.hasFlags() || c.setsFlags(fn)
	for _, b := range r.blocks(fn) {
		cur := r[b.Index]
		if flags {
			cur = cloneMap(cur)
		}
		var last ssa.Instruction
		for _, instr := range b.Instrs {
			if flags && last != nil {
				// cur holds before instr, for the call it makes.
				c.flagStep(last, fn, cur)
			}
			last = instr
			if out.why != "" && out.ioWhy != "" {
				break
			}
			if mc := yieldClosure(instr); mc != nil {
				if bi := c.funcs[mc.Fn.(*ssa.Function)]; bi != nil {
					out = merged(out, bi.summary, "", c)
				}
			}
			if call := c.callOf(instr); call != nil {
				if callee := c.localCallee(call); callee != nil {
					if c.dirs.silenced(c.pass.Fset, instr.Pos()) {
						continue
					}
					s := c.funcs[callee].summary
					if c.funcs[callee].never {
						s = summary{}
					} else if _, consts := c.constArgs(call, fn, callEnv(instr, cur)); len(consts) > 0 {
						s = c.specWhy(callee, consts, depth+1)
					}
					name := c.funcDesc(callee)
					if c.yields[callee] != nil {
						name = ""
					}
					out = merged(out, s, name, c)
					continue
				}
			}
			bl, ok := c.blocking(instr)
			if !ok || c.dirs.silenced(c.pass.Fset, bl.pos) || (bl.io != "" && !c.keepsIO()) {
				continue
			}
			if bl.io == "" && out.why == "" {
				out.why, out.root = bl.why, bl.root
			} else if bl.io != "" && out.ioWhy == "" {
				out.ioWhy, out.ioRoot = ioWhy(bl), bl.root
			}
		}
	}
	if c.specGuessed > guessed && len(c.specBusy) > 1 {
		delete(c.spec, k)
		return out
	}
	c.spec[k] = out
	return out
}

// merged adds to out what a call of the function named name, which may
// block as s says, gives its caller; name is "" for a loop body, which
// is part of its function.
func merged(out, s summary, name string, c *checker) summary {
	chain := func(why string) string {
		if name == "" {
			return why
		}
		return c.via(name, why)
	}
	if out.why == "" && s.why != "" {
		out.why, out.root = chain(s.why), s.root
	}
	if out.ioWhy == "" && s.ioWhy != "" {
		out.ioWhy, out.ioRoot = chain(s.ioWhy), s.ioRoot
	}
	return out
}
