package webhookflow

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var signatureChecks = []check{
	{"a user whose names hold markup, quotes, accents and emoji is delivered as user.created, signed both ways", deliverTrickyUser},
	{"a client's own non-ASCII secret keys the guide's signature as its UTF-8 text", deliverOwnSecret},
}

// Names no encoder may mangle: HTML-significant characters (Go's JSON
// encoder escapes them, JSON.stringify does not), quotes, a backslash,
// accents, and emoji, one of them a ZWJ sequence. (U+2028, which
// JSON.stringify leaves raw, is no longer a name character at all: see
// domain.PrintableText.)
const (
	trickyFirst = `Zoë & <Ann> "Jo" O'Brien \ ✓`
	trickyLast  = "Łukasz-Ñúñez 😀 </script> 👩\u200d🏫 end"
)

// jsTime is JavaScript's Date.prototype.toISOString, as in the guide.
var jsTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)

// guideDataKeys are the guide's user.created data keys, in its order.
var guideDataKeys = []string{"userId", "email", "firstName", "lastName", "organizationId", "isNewUser", "createdAt"}

func deliverTrickyUser(t *testing.T, a *API) {
	tn := a.NewTenant(t, "sig")
	rcv := NewReceiver(t, nil)
	sub := a.Subscribe(t, tn.Client, rcv.URL, allEvents...)
	u := NewUser("sig")
	u.FirstName, u.LastName = trickyFirst, trickyLast
	userID := a.Provision(t, tn, u)
	h := rcv.Wait(t, 1, About("user.created", userID))[0]

	t.Run("the receiver gets user.created with the documented headers", func(t *testing.T) {
		assert.Equal(t, "application/json", h.Header.Get("Content-Type"))
		assert.Equal(t, "user.created", h.Header.Get("X-Webhook-Event"))
		assert.NotEmpty(t, h.Header.Get("User-Agent"))
		id := h.Delivery()
		require.NotEmpty(t, id, "X-Webhook-Delivery")
		assert.Equal(t, id, h.Header.Get("webhook-id"), "the Standard Webhooks id is the delivery id")
		assert.Regexp(t, `^sha256=[0-9a-f]{64}$`, h.Header.Get("X-Webhook-Signature"))
		assert.Regexp(t, `^v1,[A-Za-z0-9+/]{43}=$`, h.Header.Get("webhook-signature"))
		ts, err := strconv.ParseInt(h.Header.Get("webhook-timestamp"), 10, 64)
		require.NoError(t, err, "webhook-timestamp is unix seconds")
		assert.WithinDuration(t, h.At, time.Unix(ts, 0), 5*time.Minute, "webhook-timestamp is the time of the post")
	})

	t.Run("the body is compact {event, timestamp, data} in that order with the guide's data keys", func(t *testing.T) {
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, h.Body))
		assert.Equal(t, compact.String(), string(h.Body), "no whitespace between tokens, no trailing newline")
		assert.Equal(t, []string{"event", "timestamp", "data"}, objectKeys(t, h.Body))
		var p struct {
			Event     string          `json:"event"`
			Timestamp string          `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(h.Body, &p))
		assert.Equal(t, "user.created", p.Event)
		assert.Regexp(t, jsTime, p.Timestamp)
		assert.Equal(t, guideDataKeys, objectKeys(t, p.Data))
		assert.Equal(t, userID, h.Data["userId"])
		assert.Equal(t, u.Email, h.Data["email"])
		assert.Equal(t, trickyFirst, h.Data["firstName"])
		assert.Equal(t, trickyLast, h.Data["lastName"])
		assert.Equal(t, tn.OrgID, h.Data["organizationId"])
		assert.Equal(t, true, h.Data["isNewUser"])
		assert.Regexp(t, jsTime, h.Data["createdAt"])
		for _, raw := range []string{`& <Ann>`, `</script>`, "😀", "👩\u200d🏫"} {
			assert.Contains(t, string(h.Body), raw, "written as JSON.stringify writes it, not escaped")
		}
	})

	t.Run("X-Webhook-Signature verifies over the raw body", func(t *testing.T) {
		assert.Equal(t, guideSignature(sub.Secret, h.Body), h.Header.Get("X-Webhook-Signature"))
		assert.NotEqual(t, guideSignature(sub.Secret+"x", h.Body), h.Header.Get("X-Webhook-Signature"))
	})

	t.Run("the guide's Node verifyWebhookSignature accepts JSON.stringify of the parsed body", func(t *testing.T) {
		res := verifyInNode(t, h.Body, h.Header.Get("X-Webhook-Signature"), sub.Secret)
		assert.True(t, res.RoundTrip, "JSON.stringify(JSON.parse(body)) is the body, byte for byte")
		assert.True(t, res.Valid, "the guide's function accepts the delivery")
	})

	t.Run("the Standard Webhooks signature verifies with the whsec_ key", func(t *testing.T) {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sub.Secret, "whsec_"))
		require.NoError(t, err)
		want := standardSignature(key, h.Header.Get("webhook-id"), h.Header.Get("webhook-timestamp"), h.Body)
		assert.Contains(t, strings.Fields(h.Header.Get("webhook-signature")), want)
	})
}

func deliverOwnSecret(t *testing.T, a *API) {
	tn := a.NewTenant(t, "ownsecret")
	rcv := NewReceiver(t, nil)
	const secret = "ünïcødé sécret ✓ 0123456789"
	r := a.call(t, tn.Client.header(), "POST", pathWebhooks, map[string]any{
		"url": rcv.URL, "events": []string{"user.created"}, "secret": secret,
	})
	require.Equal(t, 201, r.Status, "body %q", r)
	userID := a.Provision(t, tn, NewUser("ownsecret"))
	h := rcv.Wait(t, 1, About("user.created", userID))[0]
	assert.Equal(t, guideSignature(secret, h.Body), h.Header.Get("X-Webhook-Signature"))
	t.Run("and Node agrees", func(t *testing.T) {
		res := verifyInNode(t, h.Body, h.Header.Get("X-Webhook-Signature"), secret)
		assert.True(t, res.RoundTrip)
		assert.True(t, res.Valid)
	})
}

// guideSignature is the guide's X-Webhook-Signature: the HMAC key is the
// secret's text.
func guideSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// standardSignature is a Standard Webhooks v1 signature.
func standardSignature(key []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// objectKeys are the keys of a JSON object, in order.
func objectKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok, "a JSON object: %q", raw)
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// nodeVerifier is the guide's verifyWebhookSignature, its TypeScript
// types removed, applied as the guide's handler does: to
// JSON.stringify(req.body), where req.body is the parsed body.
const nodeVerifier = `const { createHmac } = require("crypto");

function verifyWebhookSignature(
  payload,
  signature,
  secret
) {
  const expected = "sha256=" + createHmac("sha256", secret)
    .update(payload)
    .digest("hex");
  return signature === expected;
}

const raw = require("fs").readFileSync(0, "utf8");
const req = { body: JSON.parse(raw), headers: { "x-webhook-signature": process.env.SIGNATURE } };
const signature = req.headers["x-webhook-signature"];
const isValid = verifyWebhookSignature(
  JSON.stringify(req.body),
  signature,
  process.env.WEBHOOK_SECRET
);
process.stdout.write(JSON.stringify({ valid: isValid, roundTrip: JSON.stringify(req.body) === raw }));
`

type nodeResult struct {
	Valid     bool `json:"valid"`
	RoundTrip bool `json:"roundTrip"`
}

// verifyInNode runs nodeVerifier on a delivery. Without node it skips,
// unless CALIMATIC_TEST_REQUIRE_BACKENDS=1 makes that a failure.
func verifyInNode(t *testing.T, body []byte, signature, secret string) nodeResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CALIMATIC_TEST_REQUIRE_BACKENDS") == "1" {
			t.Fatal("node is not on PATH and CALIMATIC_TEST_REQUIRE_BACKENDS=1")
		}
		t.Skip("node is not on PATH")
	}
	script := filepath.Join(t.TempDir(), "verify.cjs")
	require.NoError(t, os.WriteFile(script, []byte(nodeVerifier), 0o600))
	cmd := exec.CommandContext(t.Context(), node, script)
	cmd.Env = append(os.Environ(), "SIGNATURE="+signature, "WEBHOOK_SECRET="+secret)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node: %s", stderr.String())
	var res nodeResult
	require.NoError(t, json.Unmarshal(out, &res), "node printed %q", out)
	return res
}
