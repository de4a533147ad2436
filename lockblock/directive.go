package lockblock

import (
	"go/ast"
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

// A directive at the end of a line of code covers that line only; one
// alone on its line covers the next line. A trailing directive that also
// covered the next line would silence a statement its reason does not
// speak of.

// directives holds the //lockblock:ignore comments of a package by file
// name and line.
type directives struct {
	byLine      map[string]map[int]directive
	missing     []token.Pos   // directives without a reason, in source order
	missingDecl []missingDecl // declarations without a reason, in source order
}

// missingDecl is a //lockblock:blocking or //lockblock:nonblocking
// directive without a reason.
type missingDecl struct {
	pos    token.Pos
	prefix string
}

func parseDirectives(pass *analysis.Pass) *directives {
	d := &directives{byLine: map[string]map[int]directive{}}
	for _, f := range pass.Files {
		var code map[int]bool // computed for the first directive: most files have none
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
				if code == nil {
					code = codeLines(pass.Fset, f)
				}
				line := p.Line
				if !code[line] {
					line++
				}
				lines[line] = directive{pos: cm.Slash, reason: strings.TrimSpace(reason)}
				if strings.TrimSpace(reason) == "" {
					d.missing = append(d.missing, cm.Slash)
				}
			}
		}
	}
	return d
}

// codeLines returns the lines of f on which some code stands: a line
// where a node of the syntax tree starts or ends. A // comment runs to
// the end of its line, so a comment on such a line follows code.
func codeLines(fset *token.FileSet, f *ast.File) map[int]bool {
	lines := map[int]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n.(type) {
		case nil:
			return false
		case *ast.CommentGroup, *ast.Comment:
			return false
		}
		if n.Pos().IsValid() {
			lines[fset.Position(n.Pos()).Line] = true
		}
		if n.End().IsValid() && n.End() > n.Pos() {
			lines[fset.Position(n.End()-1).Line] = true
		}
		return true
	})
	return lines
}

// silenced reports whether a directive with a reason covers the line of
// pos: one at the end of that line, or one alone on the line above it.
func (d *directives) silenced(fset *token.FileSet, pos token.Pos) bool {
	p := fset.Position(pos)
	dir, ok := d.byLine[p.Filename][p.Line]
	return ok && dir.reason != ""
}

// reportMissingReasons reports each directive that gives no reason.
func (d *directives) reportMissingReasons(pass *analysis.Pass) {
	for _, pos := range d.missing {
		pass.Reportf(pos, "%s needs a reason: say why the operation cannot block while the lock is held", directivePrefix)
	}
	for _, m := range d.missingDecl {
		pass.Reportf(m.pos, "%s needs a reason: say why the function does or does not block", m.prefix)
	}
}
