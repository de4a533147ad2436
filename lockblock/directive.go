package lockblock

import (
	"go/token"
	"strings"

	"golang.org/x/tools/go/analysis"
)

const directivePrefix = "//lockblock:ignore"

// A directive is one //lockblock:ignore comment.
type directive struct {
	pos    token.Pos
	reason string
}

// directives holds the //lockblock:ignore comments of a package by file
// name and line.
type directives struct {
	byLine  map[string]map[int]directive
	missing []token.Pos // directives without a reason, in source order
}

func parseDirectives(pass *analysis.Pass) *directives {
	d := &directives{byLine: map[string]map[int]directive{}}
	for _, f := range pass.Files {
		for _, group := range f.Comments {
			for _, cm := range group.List {
				rest, ok := strings.CutPrefix(cm.Text, directivePrefix)
				if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
					continue
				}
				p := pass.Fset.Position(cm.Slash)
				lines := d.byLine[p.Filename]
				if lines == nil {
					lines = map[int]directive{}
					d.byLine[p.Filename] = lines
				}
				// A comment after the directive ("//lockblock:ignore // TODO")
				// is not a reason.
				reason, _, _ := strings.Cut(rest, "//")
				lines[p.Line] = directive{pos: cm.Slash, reason: strings.TrimSpace(reason)}
				if strings.TrimSpace(reason) == "" {
					d.missing = append(d.missing, cm.Slash)
				}
			}
		}
	}
	return d
}

// silenced reports whether a directive with a reason stands on the line of
// pos or on the line above it.
func (d *directives) silenced(fset *token.FileSet, pos token.Pos) bool {
	p := fset.Position(pos)
	lines := d.byLine[p.Filename]
	for _, line := range []int{p.Line, p.Line - 1} {
		if dir, ok := lines[line]; ok && dir.reason != "" {
			return true
		}
	}
	return false
}

// reportMissingReasons reports each directive that gives no reason.
func (d *directives) reportMissingReasons(pass *analysis.Pass) {
	for _, pos := range d.missing {
		pass.Reportf(pos, "%s needs a reason: say why the operation cannot block while the lock is held", directivePrefix)
	}
}
