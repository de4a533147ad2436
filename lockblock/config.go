package lockblock

import (
	"go/ast"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// config holds what the command line sets.
type config struct {
	io          bool            // report waits for I/O
	chain       bool            // show the whole chain of calls
	group       bool            // one finding per lock and wait, not per site
	blocking    map[string]bool // functions declared to block, by funcKey
	nonblocking map[string]bool // functions declared never to block, by funcKey
}

// flags are the Analyzer's flags, read at the start of each pass.
var flags struct {
	io, chain, group      bool
	blocking, nonblocking funcList
}

// funcList is a flag of function names, comma-separated, given as many
// times as wanted.
type funcList []string

func (l *funcList) String() string { return strings.Join(*l, ",") }

// Reset empties the list.
func (l *funcList) Reset() { *l = nil }

func (l *funcList) Set(s string) error {
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			*l = append(*l, f)
		}
	}
	return nil
}

func init() {
	fs := &Analyzer.Flags
	fs.BoolVar(&flags.io, "io", true, "report reads, writes, accepts, dials and DNS lookups of concrete net, crypto/tls and os types, and net/http client calls, as waits for I/O")
	fs.BoolVar(&flags.chain, "chain", false, "show the whole chain of calls down to the operation that waits, not only the operation")
	fs.BoolVar(&flags.group, "group", true, "report the sites that hold the same locks across the same operation that waits as one finding, at the first of them, with the others as related positions; -group=false reports every site")
	fs.Var(&flags.blocking, "blocking", "comma-separated functions that block: import/path.Func, import/path.Type.Method (an interface method too), import/path.Type for all its methods, or import/path for the whole package")
	fs.Var(&flags.nonblocking, "nonblocking", "comma-separated functions that never block, named as for -blocking; it wins over -blocking")
}

func currentConfig() config {
	set := func(l funcList) map[string]bool {
		m := map[string]bool{}
		for _, f := range l {
			m[f] = true
		}
		return m
	}
	return config{io: flags.io, chain: flags.chain, group: flags.group, blocking: set(flags.blocking), nonblocking: set(flags.nonblocking)}
}

// A declaration says that a function blocks or never does.
type declaration int

const (
	declNone declaration = iota
	declBlocking
	declNonblocking
)

const (
	blockingPrefix    = "//lockblock:blocking"
	nonblockingPrefix = "//lockblock:nonblocking"
)

// parseDeclarations records the //lockblock:blocking and
// //lockblock:nonblocking directives in the doc comments of the package's
// functions. One without a reason is kept in missing, and declares
// nothing.
func (c *checker) parseDeclarations() {
	for _, f := range c.pass.Files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Doc == nil {
				continue
			}
			for _, cm := range fd.Doc.List {
				for prefix, decl := range map[string]declaration{blockingPrefix: declBlocking, nonblockingPrefix: declNonblocking} {
					rest, ok := strings.CutPrefix(cm.Text, prefix)
					if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
						continue
					}
					if reason, _, _ := strings.Cut(rest, "//"); strings.TrimSpace(reason) == "" {
						c.dirs.missingDecl = append(c.dirs.missingDecl, missingDecl{cm.Slash, prefix})
						continue
					}
					if obj, ok := c.pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
						c.decls[obj] = decl
					}
				}
			}
		}
	}
	sort.Slice(c.dirs.missingDecl, func(i, j int) bool { return c.dirs.missingDecl[i].pos < c.dirs.missingDecl[j].pos })
}

// declared returns what a directive or a flag declares of fn.
func (c *checker) declared(fn *ssa.Function) declaration {
	obj, ok := fn.Object().(*types.Func)
	if !ok {
		return declNone
	}
	obj = obj.Origin()
	if d := c.decls[obj]; d != declNone {
		return d
	}
	if d := c.cfg.declares(obj); d != declNone {
		return d
	}
	if prompt[funcKey(obj)] {
		return declNonblocking
	}
	return declNone
}

// prompt holds functions of the standard library that are documented to
// return at once, though they wait for a goroutine of their own package
// to finish brief work: http.Server.Close "immediately closes" listeners
// and connections and waits only for its Serve loops to see that. (It is
// Shutdown that waits for connections to go idle.) -blocking overrides.
var prompt = map[string]bool{
	"net/http.Server.Close": true,
}

// declares returns what -blocking and -nonblocking say of fn: a name
// matches the function (import/path.Func, import/path.Type.Method), every
// method of a type (import/path.Type), or every function of a package
// (import/path). A name given to both flags is taken not to block.
func (cfg *config) declares(fn *types.Func) declaration {
	if len(cfg.blocking) == 0 && len(cfg.nonblocking) == 0 {
		return declNone
	}
	key := funcKey(fn)
	names := []string{key}
	if fn.Pkg() != nil {
		if recv := fn.Signature().Recv(); recv != nil {
			if n := recvName(recv.Type()); n != "" {
				names = append(names, fn.Pkg().Path()+"."+n)
			}
		}
		names = append(names, fn.Pkg().Path())
	}
	for _, n := range names {
		if cfg.nonblocking[n] {
			return declNonblocking
		}
	}
	for _, n := range names {
		if cfg.blocking[n] {
			return declBlocking
		}
	}
	return declNone
}
