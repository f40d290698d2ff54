package webhooks

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Payload is the body of a delivery: {"event", "timestamp", "data"} in that
// order (integration guide §5), compact, written exactly as JavaScript's
// JSON.stringify writes it. The guide's Node snippet verifies the signature
// over JSON.stringify(JSON.parse(body)), so the body must survive that round
// trip byte for byte: no HTML escaping, no escaped U+2028 (Go's encoder
// escapes both), no trailing newline, and numbers in JavaScript's form.
func Payload(e domain.Event) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"event":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"timestamp":`...)
	b = appendString(b, timestamp(e.OccurredAt))
	b = append(b, `,"data":`...)
	b = appendFields(b, e.Data)
	return append(b, '}')
}

// timestamp is JavaScript's Date.prototype.toISOString.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func appendFields(b []byte, fs []domain.Field) []byte {
	b = append(b, '{')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f.Key)
		b = append(b, ':')
		b = appendValue(b, f.Value)
	}
	return append(b, '}')
}

// appendValue writes the JSON values events carry. Anything else is null,
// as JSON.stringify writes what it cannot represent.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int:
		return appendNumber(b, float64(v))
	case int64:
		return appendNumber(b, float64(v))
	case float64:
		return appendNumber(b, v)
	case []domain.Field:
		return appendFields(b, v)
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, x)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

// appendNumber writes f as JavaScript's Number.prototype.toString does
// (ECMA-262 §6.1.6.1.20): the shortest digits that round-trip, plain for
// 1e-7 < |f| < 1e21, exponent form otherwise. NaN and the infinities are
// null in JSON.
func appendNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(b, "null"...)
	case f == 0:
		return append(b, '0') // -0 too
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	// Go writes 1e+21 and 1e-07; JavaScript writes 1e+21 and 1e-7.
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := cut(s, 'e')
	sign := exp[0]
	digits := exp[1:]
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	b = append(b, mant...)
	b = append(b, 'e', sign)
	return append(b, digits...)
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// appendString writes s quoted as JSON.stringify does (ECMA-262
// QuoteJSONString): only ", \ and control characters are escaped, with the
// short forms \b \t \n \f \r and \u00xx (lower-case hex) for the rest.
// Invalid UTF-8 becomes U+FFFD, since a Go string cannot hold the lone
// surrogates JavaScript would escape.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
