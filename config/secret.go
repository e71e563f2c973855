package config

import (
	"fmt"
	"math"
	"strings"
)

// minSecretBits is the strength privacy.secret must have. Someone who knows
// their own MR knows their own token, so a weak secret is recovered offline
// by guessing, and then every token of a list of company emails follows.
const minSecretBits = 128

// weakWords are strings people put in secrets; a secret holding one is a
// guess away.
var weakWords = []string{"secret", "password", "passwd", "changeme", "change-me", "test", "example", "devpulse", "admin", "qwerty", "letmein", "default"}

// SecretWeakness says why s is too weak for privacy.secret, or "" if it is
// not. The estimate is simple and errs on the side of refusing: the bits of
// the character classes s draws from times its length, but a string that
// repeats a shorter one, runs through a sequence (abc…, 123…), repeats few
// characters, or holds a common word is refused whatever its length.
func SecretWeakness(s string) string {
	const how = "make one with `openssl rand -hex 32` and keep it: the same secret gives the same pseudonyms"
	if len(s) < 16 {
		return fmt.Sprintf("too short (%d characters, at least 32 random characters needed); %s", len(s), how)
	}
	low := strings.ToLower(s)
	for _, w := range weakWords {
		if strings.Contains(low, w) {
			return fmt.Sprintf("holds the common word %q: a dictionary guess recovers it; %s", w, how)
		}
	}
	for p := 1; p <= len(s)/2; p++ {
		if strings.Repeat(s[:p], len(s)/p+1)[:len(s)] == s {
			return fmt.Sprintf("repeats a %d-character pattern; %s", p, how)
		}
	}
	steps := 0
	for i := 1; i < len(s); i++ {
		if d := int(s[i]) - int(s[i-1]); d == 1 || d == -1 {
			steps++
		}
	}
	if steps*3 >= len(s) {
		return "runs through a sequence (like abc… or 123…); " + how
	}
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	h := 0.0
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	if h < 3 {
		return fmt.Sprintf("repeats too few characters (%.1f bits per character); %s", h, how)
	}
	if bits := classBits(s) * float64(n); bits < minSecretBits {
		return fmt.Sprintf("about %.0f bits, at least %d needed (32 hex characters, or 22 mixed letters and digits); %s", bits, minSecretBits, how)
	}
	return ""
}

// classBits is log2 of the alphabet s draws from: hex digits, or the union
// of the classes (lower, upper, digits, other) it uses.
func classBits(s string) float64 {
	var lower, upper, digit, other, hex bool
	hex = true
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
			if r > 'f' {
				hex = false
			}
		case r >= 'A' && r <= 'Z':
			upper = true
			hex = false
		case r >= '0' && r <= '9':
			digit = true
		default:
			other = true
			hex = false
		}
	}
	if hex {
		return 4
	}
	size := 0
	for _, c := range []struct {
		on bool
		n  int
	}{{lower, 26}, {upper, 26}, {digit, 10}, {other, 33}} {
		if c.on {
			size += c.n
		}
	}
	return math.Log2(float64(size))
}
