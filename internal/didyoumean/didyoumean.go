// Package didyoumean owns the did-you-mean of every ssebench message: the
// likely intended word for a mistyped scenario key, value, command, flag,
// metric or end class.
package didyoumean

import "strings"

// Closest is the candidate s is a likely typo of (a close edit distance,
// or s a prefix of it), or "".
func Closest(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := editDistance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	limit := 2
	if len(s) <= 4 {
		limit = 1
	}
	if bestD > limit && !(len(s) > 2 && strings.HasPrefix(strings.ToLower(best), ls)) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance, with an adjacent swap counting
// as one edit (the commonest typo).
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
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
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
