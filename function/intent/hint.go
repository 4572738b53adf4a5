package intent

import (
	"strings"
	"unicode/utf8"
)

// suggest returns the known name that an unknown field most likely meant, or
// "" when nothing is close. A case-insensitive match wins (the usual mistake
// is the API's PascalCase, "ImageName" for "imageName"); otherwise the nearest
// name by edit distance, if the distance is small for the name's length so
// that unrelated words are not "corrected". elsewhere maps lower-cased names
// of fields that live at another level to their path from this level, so
// that "imageName" at the top level points at "attributes.imageName".
func suggest(unknown string, known []string, elsewhere map[string]string) string {
	lower := strings.ToLower(unknown)
	for _, k := range known {
		if strings.ToLower(k) == lower {
			return k
		}
	}
	if p, ok := elsewhere[lower]; ok {
		return p
	}
	best, bestDist := "", maxHintDistance(len(lower))+1
	runes := utf8.RuneCountInString(lower)
	for _, k := range known {
		// Lengths further apart than the distance allowed cannot be close:
		// skipping them keeps a 1 MB name from costing a second.
		if diff := runes - utf8.RuneCountInString(k); diff >= bestDist || -diff >= bestDist {
			continue
		}
		if d := levenshtein(lower, strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// Suggest is suggest for other strict readers of this function's JSON (the
// policy), so that an unknown field gets the same hint everywhere.
func Suggest(unknown string, known []string, elsewhere map[string]string) string {
	return suggest(unknown, known, elsewhere)
}

// maxHintDistance allows one typo in short names and up to three in long ones.
func maxHintDistance(n int) int {
	return min(3, max(1, n/4))
}

// levenshtein is the edit distance between a and b, over runes. It is written
// here rather than imported: a dozen lines on field names of a few bytes do
// not justify a new module in go.mod, and none is vendored in this project.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
