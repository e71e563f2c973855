package warehouse

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// TestPermute_Sorts: moving each record once along its cycle gives the
// sorted order, whatever the cycles (none, one long one, many short ones,
// ties).
func TestPermute_Sorts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cases := map[string][]int{"empty": nil, "one": {1}, "sorted": {1, 2, 3, 4}, "reversed": {4, 3, 2, 1}, "rotated": {2, 3, 4, 5, 1}}
	for _, n := range []int{10, 100, 5000} {
		xs := make([]int, n)
		for i := range xs {
			xs[i] = r.IntN(n/3 + 1)
		}
		cases[fmt.Sprintf("random %d", n)] = xs
	}
	for name, xs := range cases {
		want := slices.Sorted(slices.Values(xs))
		got := slices.Clone(xs)
		permute(got, func(a, b *int) int { return cmp.Compare(*a, *b) })
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

// TestChildren_EachParentItsOwnInOrder: children streamed in any parent
// order come out per parent in the order they came, across chunks, and a
// child appended to one parent's slice never overwrites the next parent's.
func TestChildren_EachParentItsOwnInOrder(t *testing.T) {
	const parents = 7
	var c children[string]
	want := make([][]string, parents)
	for i := range 3*chunk + 5 {
		p := (i * 5) % parents
		if p == 3 {
			continue // a parent with no children
		}
		x := fmt.Sprintf("%d:%d", p, i)
		c.add(p, x)
		want[p] = append(want[p], x)
	}
	got := make([][]string, parents)
	c.attach(parents, func(i int, kids []string) { got[i] = kids })
	for p := range parents {
		if !slices.Equal(got[p], want[p]) {
			t.Fatalf("parent %d: %d children, want %d (first %v, want %v)", p, len(got[p]), len(want[p]), got[p][:min(3, len(got[p]))], want[p][:min(3, len(want[p]))])
		}
	}
	if got[3] != nil {
		t.Errorf("the parent with no children got %v", got[3])
	}
	got[0] = append(got[0], "extra")
	if got[1][0] != want[1][0] {
		t.Errorf("an append to parent 0's children overwrote parent 1's: %q", got[1][0])
	}
}

// TestAttachAs_MakesEachChildWithItsParent: the compact form a child is
// held in becomes its record with the index of the parent it belongs to.
func TestAttachAs_MakesEachChildWithItsParent(t *testing.T) {
	var c children[int]
	for i := range chunk + 3 {
		c.add(i%4, i)
	}
	got := map[int][]string{}
	attachAs(&c, 4, func(p, x int) string { return fmt.Sprintf("%d<-%d", p, x) }, func(i int, kids []string) { got[i] = kids })
	for p := range 4 {
		if len(got[p]) == 0 {
			t.Fatalf("parent %d got no children", p)
		}
		for j, k := range got[p] {
			if want := fmt.Sprintf("%d<-%d", p, p+4*j); k != want {
				t.Fatalf("parent %d child %d = %q, want %q", p, j, k, want)
			}
		}
	}
}

// TestInterner_OneCopyPerValue: a value is kept once whichever column it
// comes in, and a column's repeated value is that copy, not the one read.
func TestInterner_OneCopyPerValue(t *testing.T) {
	in := &interner{}
	fresh := func(s string) string { return string([]byte(s)) } // a copy, as the driver hands out
	first := in.at(1, fresh("acme/api"))
	for _, col := range []int{1, 1, 2, 40} {
		got := in.at(col, fresh("acme/api"))
		if got != "acme/api" || unsafe.StringData(got) != unsafe.StringData(first) {
			t.Fatalf("column %d: %q is not the kept copy", col, got)
		}
	}
	if got := in.at(1, fresh("acme/web")); got != "acme/web" {
		t.Fatalf("a new value in a column read back as %q", got)
	}
	if got := in.at(1, fresh("acme/api")); unsafe.StringData(got) != unsafe.StringData(first) {
		t.Fatal("a value seen before, after another, is not the kept copy")
	}
}
