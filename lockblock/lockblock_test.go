package lockblock_test

import (
	"testing"

	"github.com/fanin-go/fanin/lockblock"
	"golang.org/x/tools/go/analysis/analysistest"
)

// TestAnalyzer checks every diagnostic and fact against the want comments
// of the packages under testdata/src: an unexpected one fails as surely as
// a missing one, so the packages without wants prove what is not
// reported. The packages load and run together, in one pass over the
// standard library they share: each run of analysistest analyses every
// dependency again, which costs far more than the packages themselves.
//
// The wants name every site: the run reports with -group=false. A second
// run, grouped, must name the same sites (see checkGrouping); TestGroups
// checks how they are grouped.
func TestAnalyzer(t *testing.T) {
	setFlag(t, "group", "false")
	each := analysistest.Run(t, analysistest.TestData(), lockblock.Analyzer, casePkgs...)
	setFlag(t, "group", "true")
	// The grouped run misses the wants of the sites that are not the
	// first of their group: what analysistest would report is dropped,
	// and checkGrouping compares the sites instead.
	grouped := analysistest.Run(&quiet{}, analysistest.TestData(), lockblock.Analyzer, casePkgs...)
	checkGrouping(t, each, grouped)
}

// casePkgs are the packages of cases under testdata/src.
var casePkgs = []string{
	"inspiring",   // the read lock held across a send, and its fix
	"limiter",     // a limiter's lock held across a batch, and the per-value fix
	"reported",    // each blocking operation and each kind of lock
	"notreported", // what must not be reported
	"directive",   // //lockblock:ignore with and without a reason
	"facta",       // exports facts...
	"factb",       // ...that its importer's checks use
	"generic",
	"closure",
	"methodvalue",
	"counted",  // channels with room for every value they are ever sent
	"attack15", // counted channels that may still be nil
	"condptr",  // Conds whose lock is kept in a pointer field beside them
	"attack16", // locks taken for a kept Cond lock that are not it
	"attack17", // locks of another owner or set taken for a kept Cond lock
	"attack17init",
	"attack17iface",
	"attack17ptr",
	"pathsense", // conditional pairs, two roots of one lock, channels with room, unlocks through func values
	"iokind",    // waits for the network and the disk
	"served",    // queues read by a goroutine that works in memory
	"stopped",   // waits for goroutines told to stop
	"declared",  // //lockblock:blocking and //lockblock:nonblocking
	// Adversarial cases: each want states what the Doc and README
	// promise.
	"attackdefer",
	"attacktry",
	"attackhelper",
	"attackcond",
	"attackrange",
	"attackfresh",
	"attackdirective",
	"attacklocker",
	"attackheld",
	"attackfacta",
	"attackfactb",
	"attackfanin",
	"attackspec", // constant arguments, error-result helpers and joins
	"emptied",    // signal channels emptied before each send under one lock
	"attackfresh2",
	"attackrelease", // locks let go for a while, at depth, through recursion and cells
	"attackrelease2",
	"attackrelease3",
	"attackrelease4",
	"attacknil", // results always nil, and semaphores filled lazily
	"attacknil2",
	"attacktok3", // token fields and Prometheus channels, a third round
	"attackrules4",
	"attackrules5",
	"attackrules5crash",
	"chanjoin",   // a channel that a fork of goroutines sends into, and its join
	"flagword",   // bits of a field set by one function and tested by another
	"deferguard", // deferred unlocks guarded by a variable
	"oneshot",    // channels with room for one, sent into once and closed
	"nilarg",     // nil arguments that rule out a branch
	// An attack on the four shapes above and on http.Server.Close: the
	// breaks it found (dg_ guarded unlocks, fw_ flag words, os_ one-shot
	// channels) and the shapes it found kept (ok_).
	"attack7/dg_relockhelper",
	"attack7/dg_trylock",
	"attack7/fw_aliasstore",
	"attack7/fw_defer",
	"attack7/fw_fa_holderset",
	"attack7/fw_recclear",
	"attack7/fw_structstore",
	"attack7/fw_testbeforeset",
	"attack7/fw_testbeforeset2",
	"attack7/os_fa_indexclose",
	"attack7/os_helpersend",
	"attack7/os_mapfill",
	"attack7/os_maplit",
	"attack7/os_phisend",
	"attack7/os_reslicenil",
	"attack7/ok_dg_fa_variants",
	"attack7/ok_fw_fa_nats",
	"attack7/ok_os_fa_forms",
	"attack7/ok_os_zk",
	"attack7/ok_nil_gocql",
	// A second attack on them, after the fixes.
	"attack8/fw_clearandtest",
	"attack8/fw_clearandtest2",
	"attack8/fw_clearbuiltin",
	"attack8/fw_condsetter",
	"attack8/fw_copy",
	"attack8/fw_typeview",
	"attack8/os_appendnil",
	"attack8/os_appendnilparam",
	"attack8/fw_alias",
	"attack8/fw_loopback",
	"attack8/fw_generic",
	"attack8/dg_methodvalue",
	// The attack on emptied signals.
	"attack9/base",
	"attack12/clearmap",
	"attack12/fmtfile",
	"attack12/generic",
	"attack12/grow",
	"attack12/growarray",
	"attack12/iocopy",
	"attack12/keyrange",
	"attack12/loopstore",
	"attack12/pokeidx",
	"attack12/twostructs",
	"attack13",
	"attack14",
	"attack11/other",
	"attack11/otherlock",
	"attack11/typeparam",
	"attack11/jsonfield",
	"attack11/errorsis",
	"attack11/udpreader",
	"attack11/fmtreader",
	"attack11/udpvalue",
	"attack10/ahelper",
	"attack10/base",
	"attack10/beforeassign",
	"attack10/closure2",
	"attack10/convstruct",
	"attack10/deepcode",
	"attack10/flagset",
	"attack10/genclone",
	"attack10/genclone2",
	"attack10/genkick",
	"attack10/genzero",
	"attack10/hookfire",
	"attack10/iterbody",
	"attack10/lenstale",
	"attack10/lockother",
	"attack10/otherlock",
	"attack10/outercopy",
	"attack10/outerzero",
	"attack10/prefill",
	"attack10/prefill3",
	"attack10/reassign",
	"attack10/threelocks",
	"attack10/twoobj",
	"attack9/capexpr",
	"attack9/capgt",
	"attack9/condnil",
	"attack9/constflip",
	"attack9/copybuiltin",
	"attack9/copyforms",
	"attack9/drainloop",
	"attack9/embedmu",
	"attack9/exported",
	"attack9/exported_user",
	"attack9/fprintunlock",
	"attack9/globalptr",
	"attack9/lencap2",
	"attack9/linkname",
	"attack9/methexpr",
	"attack9/methval",
	"attack9/pkgvarfunc",
	"attack9/ptrswap",
	"attack9/rangefunc",
	"attack9/rangefunc2",
	"attack9/recurse",
	"attack9/rlocker",
	"attack9/selextra",
	"attack9/sharedinner",
	"attack9/slicesclone",
	"attack9/sortunlock",
	"attack9/trylock",
	"attack9/twofields",
	"attack9/valrecv",
	"attack9/varcap",
	"attack9/zeroeq",
	"attack9/zeromutex",
}
