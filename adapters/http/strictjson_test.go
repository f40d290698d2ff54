package http

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckJSON(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		refused    bool
	}{
		{"a plain object", `{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`, false},
		{"the same key in sibling objects", `[{"email":"a"},{"email":"b"}]`, false},
		{"a value equal to a key", `{"a":"a","b":"A"}`, false},
		{"malformed JSON is left to the handler", `{"a":`, false},
		{"not JSON at all", `email=x`, false},
		{"a duplicate key", `{"email":"a@example.com","email":"b@example.com"}`, true},
		{"keys that differ in case", `{"userName":"a","username":"b"}`, true},
		{"the Kelvin sign folds to k", "{\"kind\":1,\"\u212aind\":2}", true},
		{"long s folds to s", "{\"scope\":1,\"\u017fcope\":2}", true},
		{"a duplicate deep inside", `{"a":[{"b":{"c":1,"C":2}}]}`, true},
		{"a duplicate after a nested object", `{"a":{"x":1},"b":2,"A":3}`, true},
		{"invalid UTF-8", "{\"name\":\"\xff\"}", true},
		{"an unpaired surrogate escape", `{"name":"\ud800"}`, true},
		{"a U+FFFD escape", `{"name":"\ufffd"}`, true},
		{"a paired surrogate escape", `{"name":"\ud83d\ude00"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := checkJSON([]byte(tc.body))
			if tc.refused {
				assert.NotEmpty(t, msg)
			} else {
				assert.Empty(t, msg)
			}
		})
	}
}
