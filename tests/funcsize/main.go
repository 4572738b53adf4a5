// Command funcsize fails when a production function (a non-test .go file
// below the given directories) is longer than -lines lines, or when gocyclo
// (github.com/fzipp/gocyclo, run by .ci/run) reported one over its limit,
// unless the allow-list names it. An allow-list entry that no longer matches
// an offender also fails: the list only shrinks, and never hides a function
// that was split already.
//
// Length is counted like a reader sees it: from the line of "func" to the line
// of the closing brace, both included, without the doc comment. The names are
// written as gocyclo writes them (run, (Intent).Validate, (*Engine).Apply),
// so one allow-list serves both checks.
//
//	gocyclo -over 15 -avg -ignore '_test\.go$' function/ > cyclo.txt
//	go run ./tests/funcsize -lines 60 -cyclo cyclo.txt -allow .ci/funcsize-allow.txt function/
//
// gocyclo is run as its own command, not linked in here, so that the module
// does not depend on it; -avg makes it end with an "Average:" line, which is
// how funcsize knows the report is whole.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func main() {
	lines := flag.Int("lines", 60, "longest function allowed, in lines")
	cyclo := flag.String("cyclo", "", "gocyclo's report (-over N -avg); empty skips the complexity check")
	allow := flag.String("allow", "", "allow-list file: lines of `FILE FUNCTION METRIC VALUE`, # comments")
	flag.Parse()
	if err := run(os.Stdout, *lines, *cyclo, *allow, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "funcsize:", err)
		os.Exit(1)
	}
}

// offender is one function over one limit. metric is "lines" or "cyclo".
type offender struct {
	file, fn, metric string
	value            int
	pos              string // file:line, for the reader
}

func (o offender) key() string { return o.file + " " + o.fn + " " + o.metric }

func run(w io.Writer, maxLines int, cycloReport, allowFile string, dirs []string) error {
	if len(dirs) == 0 {
		return errors.New("no directory given")
	}
	var found []offender
	for _, dir := range dirs {
		long, err := longFunctions(dir, maxLines)
		if err != nil {
			return err
		}
		found = append(found, long...)
	}
	if cycloReport != "" {
		complex, err := readCyclo(cycloReport)
		if err != nil {
			return err
		}
		found = append(found, complex...)
	}
	allowed := map[string]bool{}
	if allowFile != "" {
		var err error
		if allowed, err = readAllow(allowFile); err != nil {
			return err
		}
	}
	var bad []string
	for _, o := range found {
		if allowed[o.key()] {
			delete(allowed, o.key())
			fmt.Fprintf(w, "allowed: %s %s %s %d (%s)\n", o.file, o.fn, o.metric, o.value, o.pos)
			continue
		}
		if o.metric == "lines" {
			bad = append(bad, fmt.Sprintf("%s: %s is %d lines long (limit %d)", o.pos, o.fn, o.value, maxLines))
		} else {
			bad = append(bad, fmt.Sprintf("%s: %s has cyclomatic complexity %d (over gocyclo's -over limit)", o.pos, o.fn, o.value))
		}
	}
	for k := range allowed {
		bad = append(bad, fmt.Sprintf("%s: listed in %s but no longer over its limit: remove the line", k, allowFile))
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("%d problem(s); split the function (one per action, rule or step) rather than list it:\n%s",
			len(bad), strings.Join(bad, "\n"))
	}
	return nil
}

// longFunctions lists the functions over maxLines in the non-test .go files below dir.
func longFunctions(dir string, maxLines int) ([]offender, error) {
	var out []offender
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == "testdata":
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go"):
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Type.Func), fset.Position(fn.Body.Rbrace)
			if n := end.Line - start.Line + 1; n > maxLines {
				file := filepath.ToSlash(path)
				out = append(out, offender{file: file, fn: funcName(fn), metric: "lines", value: n,
					pos: file + ":" + strconv.Itoa(start.Line)})
			}
		}
		return nil
	})
	return out, err
}

// funcName writes a function's name as gocyclo does: run, (T).M, (*T).M.
func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	return "(" + typeName(fn.Recv.List[0].Type) + ")." + fn.Name.Name
}

func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return "*" + typeName(t.X)
	case *ast.IndexExpr: // a generic receiver, T[K]
		return typeName(t.X)
	case *ast.IndexListExpr:
		return typeName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

// readCyclo reads gocyclo's report: "COMPLEXITY PACKAGE FUNCTION FILE:ROW:COL"
// per function over the limit, then "Average: N".
func readCyclo(path string) ([]offender, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []offender
	whole := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "Average:") {
			whole = true
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 4 {
			return nil, fmt.Errorf("%s: not a gocyclo line: %q", path, line)
		}
		n, err := strconv.Atoi(fields[0])
		if err != nil {
			return nil, fmt.Errorf("%s: not a gocyclo line: %q", path, line)
		}
		pos := strings.Split(fields[3], ":")
		file := filepath.ToSlash(filepath.Clean(pos[0]))
		out = append(out, offender{file: file, fn: fields[2], metric: "cyclo", value: n, pos: file + ":" + pos[min(1, len(pos)-1)]})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !whole {
		return nil, fmt.Errorf("%s: gocyclo's report has no Average line: did gocyclo run (with -avg)?", path)
	}
	return out, nil
}

// readAllow reads the allow-list: "FILE FUNCTION METRIC VALUE" per line, where
// VALUE is what was measured when the line was written (for the reader: any
// value over the limit matches), and # starts a comment.
func readAllow(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 4 || (fields[2] != "lines" && fields[2] != "cyclo") {
			return nil, fmt.Errorf("%s:%d: want FILE FUNCTION lines|cyclo VALUE, got %q", path, i+1, line)
		}
		out[fields[0]+" "+fields[1]+" "+fields[2]] = true
	}
	return out, nil
}
