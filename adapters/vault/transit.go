package vault

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// keyTypes are the transit key types that sign each algorithm.
var keyTypes = map[string]string{
	domain.AlgRS256: "rsa-2048", // RFC 7518 §3.3: 2048 bits or more
	domain.AlgES256: "ecdsa-p256",
}

// keyInfo is the part of GET <mount>/keys/:name that the signer reads.
type keyInfo struct {
	Type       string `json:"type"`
	Exportable bool   `json:"exportable"`
	Keys       map[string]struct {
		CreationTime time.Time `json:"creation_time"`
		PublicKey    string    `json:"public_key"`
	} `json:"keys"`
}

func (s *Signer) keyPath(name string) string {
	return s.opts.Mount + "/keys/" + url.PathEscape(name)
}

// readKey reads alg's transit key. It reuses the parsed versions in known,
// so that a refresh parses only new versions. ok is false if the key does
// not exist.
func (s *Signer) readKey(ctx context.Context, alg, name string, known map[int]*version) (l lineage, ok bool, err error) {
	sec, err := s.client.Logical().ReadWithContext(ctx, s.keyPath(name))
	if err != nil {
		return l, false, translate("read key "+name, err)
	}
	if sec == nil || sec.Data == nil {
		return l, false, nil
	}
	var info keyInfo
	if err := remarshal(sec.Data, &info); err != nil {
		return l, false, fmt.Errorf("vault: read key %s: %w", name, err)
	}
	if info.Type != keyTypes[alg] {
		return l, false, fmt.Errorf("vault: transit key %s is of type %q; %s needs %q", name, info.Type, alg, keyTypes[alg])
	}
	if info.Exportable {
		return l, false, fmt.Errorf("vault: transit key %s is exportable: signing keys must never leave Vault", name)
	}
	l = lineage{alg: alg, name: name}
	for num, k := range info.Keys {
		n, err := strconv.Atoi(num)
		if err != nil {
			return l, false, fmt.Errorf("vault: read key %s: version %q: %w", name, num, err)
		}
		if old := known[n]; old != nil && old.pem == k.PublicKey {
			l.versions = append(l.versions, old)
			continue
		}
		ver, err := parseVersion(alg, name, n, k.PublicKey, k.CreationTime)
		if err != nil {
			return l, false, err
		}
		l.versions = append(l.versions, ver)
	}
	slices.SortFunc(l.versions, func(a, b *version) int { return a.number - b.number })
	return l, true, nil
}

func parseVersion(alg, name string, n int, pemText string, created time.Time) (*version, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, fmt.Errorf("vault: key %s version %d: no PEM public key", name, n)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("vault: key %s version %d: %w", name, n, err)
	}
	kid, err := thumbprint(pub)
	if err != nil {
		return nil, fmt.Errorf("vault: key %s version %d: %w", name, n, err)
	}
	return &version{alg: alg, name: name, number: n, pem: pemText, kid: kid, pub: pub, created: created}, nil
}

// createKey makes alg's transit key, never exportable.
func (s *Signer) createKey(ctx context.Context, alg, name string) error {
	_, err := s.client.Logical().WriteWithContext(ctx, s.keyPath(name), map[string]any{
		"type":       keyTypes[alg],
		"exportable": false,
	})
	return translate("create key "+name, err)
}

func (s *Signer) rotateKey(ctx context.Context, name string) error {
	_, err := s.client.Logical().WriteWithContext(ctx, s.keyPath(name)+"/rotate", nil)
	return translate("rotate key "+name, err)
}

// signDigests is the batcher's sendFunc: one transit sign call for digests
// (SHA-256 of signing inputs, hence prehashed), by an explicit key version.
func (s *Signer) signDigests(parent context.Context, k batchKey, digests [][]byte) ([]signed, error) {
	ctx, cancel := context.WithTimeout(parent, s.opts.Timeout)
	defer cancel()
	body := map[string]any{
		"key_version": k.version,
		"prehashed":   true,
	}
	switch k.alg {
	case domain.AlgRS256:
		body["signature_algorithm"] = "pkcs1v15" // RFC 7518 §3.3
	case domain.AlgES256:
		body["marshaling_algorithm"] = "jws" // RFC 7518 §3.4: r‖s, not ASN.1
	}
	if len(digests) == 1 {
		body["input"] = base64.StdEncoding.EncodeToString(digests[0])
	} else {
		items := make([]map[string]any, len(digests))
		for i, d := range digests {
			items[i] = map[string]any{"input": base64.StdEncoding.EncodeToString(d)}
		}
		body["batch_input"] = items
	}
	sec, err := s.client.Logical().WriteWithContext(ctx, s.opts.Mount+"/sign/"+url.PathEscape(k.name)+"/sha2-256", body)
	if err != nil {
		err = translate("sign with "+k.name, err)
		s.observe(parent, err)
		return nil, err
	}
	s.observe(parent, nil)
	if sec == nil || sec.Data == nil {
		return nil, errors.New("vault: sign: empty response")
	}
	if len(digests) == 1 {
		sig, _ := sec.Data["signature"].(string)
		return []signed{decodeSignature(k, sig, "")}, nil
	}
	var results []struct {
		Signature string `json:"signature"`
		Error     string `json:"error"`
	}
	if err := remarshal(sec.Data["batch_results"], &results); err != nil {
		return nil, fmt.Errorf("vault: sign: batch results: %w", err)
	}
	if len(results) != len(digests) {
		return nil, fmt.Errorf("vault: sign: %d results for %d inputs", len(results), len(digests))
	}
	out := make([]signed, len(results))
	for i, r := range results {
		out[i] = decodeSignature(k, r.Signature, r.Error)
	}
	return out, nil
}

// decodeSignature turns "vault:vN:<base64>" into JWS signature bytes.
func decodeSignature(k batchKey, sig, vaultErr string) signed {
	if vaultErr != "" {
		return signed{err: fmt.Errorf("vault: sign with %s: %s", k.name, vaultErr)}
	}
	parts := strings.SplitN(sig, ":", 3)
	if len(parts) != 3 || parts[0] != "vault" || parts[1] != "v"+strconv.Itoa(k.version) {
		return signed{err: fmt.Errorf("vault: sign with %s: unexpected signature format", k.name)}
	}
	enc := base64.StdEncoding // pkcs1v15 signatures
	if k.alg == domain.AlgES256 {
		enc = base64.RawURLEncoding // the jws marshaling
	}
	raw, err := enc.DecodeString(parts[2])
	if err != nil {
		return signed{err: fmt.Errorf("vault: sign with %s: %w", k.name, err)}
	}
	return signed{sig: raw}
}

// remarshal decodes Vault's generic response data into a typed value.
func remarshal(in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
