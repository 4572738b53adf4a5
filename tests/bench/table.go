package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
)

// row is one line of the suite's table.
type row struct {
	group, measure, today, target, verdict, detail string
}

// Verdicts of a row with a target.
const (
	met = "met"
	gap = "GAP"
)

// add records a measure against its target.
func (s *suite) add(group, measure, today, target string, ok bool, detail string) {
	v := gap
	if ok {
		v = met
	}
	s.rows = append(s.rows, row{group: group, measure: measure, today: today, target: target, verdict: v, detail: detail})
}

// info records a measure that has no target of its own.
func (s *suite) info(group, measure, today, detail string) {
	s.rows = append(s.rows, row{group: group, measure: measure, today: today, target: "-", detail: detail})
}

// figure keeps a measured number for the paper scale (section 7).
func (s *suite) figure(name string, v float64) { s.figures[name] = v }

// sortRows orders the rows by group (the target number), keeping
// the order they were added in within a group.
func sortRows(rows []row) {
	slices.SortStableFunc(rows, func(a, b row) int { return strings.Compare(a.group, b.group) })
}

// printTable writes the rows for a terminal.
func printTable(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tMEASURE\tTODAY\tTARGET\tVERDICT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.group, r.measure, r.today, r.target, r.verdict)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	for _, r := range rows {
		if r.detail != "" {
			fmt.Fprintf(w, "  [%s] %s: %s\n", r.group, r.measure, r.detail)
		}
	}
}

// markdown is the table as BENCHMARKS.md holds it: the measures with
// their targets, then the scale on paper (group 7) apart.
func markdown(rows []row) string {
	var b strings.Builder
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var measured, paper []row
	for _, r := range rows {
		if strings.HasPrefix(r.group, "7") {
			paper = append(paper, r)
		} else {
			measured = append(measured, r)
		}
	}
	if len(measured) > 0 {
		b.WriteString("| # | measure | today | target | verdict | how, breakdown |\n|---|---|---|---|---|---|\n")
		for _, r := range measured {
			verdict := r.verdict
			if verdict == gap {
				verdict = "**GAP**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(r.group), cell(r.measure), cell(r.today), cell(r.target), verdict, cell(r.detail))
		}
	}
	if len(paper) > 0 {
		b.WriteString("\n#### Scale on paper (7), from the figures above\n\n| estimate | value | from |\n|---|---|---|\n")
		for _, r := range paper {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(r.measure), cell(r.today), cell(r.detail))
		}
	}
	return b.String()
}

// Markers around the generated part of BENCHMARKS.md.
const (
	beginMark = "<!-- tests/bench: begin generated -->"
	endMark   = "<!-- tests/bench: end generated -->"
)

// writeMarkdown replaces the generated part of path (between the markers)
// with text, leaving the prose around it alone.
func writeMarkdown(path, text string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q section to replace", path, beginMark, endMark)
	}
	out := s[:i+len(beginMark)] + "\n" + text + s[j:]
	return os.WriteFile(path, []byte(out), 0o644)
}

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianOf is the median of f over runs.
func medianOf[T any](runs []T, f func(T) float64) float64 {
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = f(r)
	}
	return median(xs)
}
