package domain

import (
	"unicode"
	"unicode/utf8"
)

// PrintableText reports whether s is valid UTF-8 of at most max characters
// with no control or invisible character (IsControlChar), and no variation
// selector except after a character it can vary (not at the start, not
// after ASCII or another selector). Names of people, groups,
// organizations and applications must be, since they are shown to others:
// a right-to-left override, an isolate or an invisible character would let
// "Springfield High" pose as another name on a consent page or in a
// console. Emoji (U+FE0F) and ideographic variants (U+E0100…) keep their
// selectors.
func PrintableText(s string, max int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	prev := rune(-1)
	for _, r := range s {
		if IsControlChar(r) {
			return false
		}
		if unicode.Is(unicode.Variation_Selector, r) && (prev < 0x80 || unicode.Is(unicode.Variation_Selector, prev)) {
			return false
		}
		prev = r
	}
	return true
}

// IsControlChar reports whether r is a control or invisible character: C0
// and C1 controls; format characters (Cf), the bidirectional controls
// (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) among them, and
// the invisible ones (zero-width space, word joiner, BOM, soft hyphen, tag
// characters); the other default-ignorable characters (Hangul fillers,
// U+034F); the line and paragraph separators; private-use characters and
// noncharacters, which show as nothing or as a font's whim; the Braille
// blank; and U+FFFD, which only stands in for bytes that were not text.
// "Demo School\u200b" would read as "Demo School". The zero-width
// non-joiner and joiner (U+200C, U+200D) are allowed: Persian and Indic
// names and emoji sequences need them.
func IsControlChar(r rune) bool {
	if r == '\u200c' || r == '\u200d' {
		return false
	}
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Bidi_Control, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.In(r, unicode.Zl, unicode.Zp, unicode.Co, unicode.Noncharacter_Code_Point) ||
		r == '\u2800' || r == '\u180e' || r == utf8.RuneError
}
