package system_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/calimatic/calimatic-auth/adapters/system"
	"github.com/calimatic/calimatic-auth/core/domain"
)

// zone is what the fake DNS server knows: TXT records by name (without the
// trailing dot), each record its strings. A name it lacks is NXDOMAIN.
type zone map[string][][]string

// fakeDNS returns a resolver that asks an in-process server answering
// from z, or with rcode for every question when rcode is not success. The
// server speaks DNS over TCP framing on a net.Pipe, so the test needs no
// network and no resolver on the machine.
func fakeDNS(z zone, rcode dnsmessage.RCode) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		go serveDNS(server, z, rcode)
		return client, nil
	}}
}

func serveDNS(c net.Conn, z zone, rcode dnsmessage.RCode) {
	defer c.Close()
	var size [2]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return
	}
	query := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(c, query); err != nil {
		return
	}
	var msg dnsmessage.Message
	if err := msg.Unpack(query); err != nil || len(msg.Questions) != 1 {
		return
	}
	q := msg.Questions[0]
	resp := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: msg.ID, Response: true, Authoritative: true, RCode: rcode},
		Questions: msg.Questions,
	}
	if rcode == dnsmessage.RCodeSuccess {
		records, ok := z[strings.TrimSuffix(q.Name.String(), ".")]
		if !ok {
			resp.RCode = dnsmessage.RCodeNameError
		}
		for _, txt := range records {
			resp.Answers = append(resp.Answers, dnsmessage.Resource{
				Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeTXT, Class: dnsmessage.ClassINET, TTL: 60},
				Body:   &dnsmessage.TXTResource{TXT: txt},
			})
		}
	}
	b, err := resp.Pack()
	if err != nil {
		return
	}
	_, _ = c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(b))))
	_, _ = c.Write(b)
}

func TestNetResolverLookupTXT(t *testing.T) {
	z := zone{
		"_calimatic.example.test": {{"calimatic-verification=abc"}, {"v=spf1 ", "-all"}},
		"empty.example.test":      {},
	}
	ctx := context.Background()

	t.Run("returns every record, a record's strings joined", func(t *testing.T) {
		r := system.NewNetResolverWith(fakeDNS(z, dnsmessage.RCodeSuccess), 5*time.Second)
		records, err := r.LookupTXT(ctx, "_calimatic.example.test")
		require.NoError(t, err)
		assert.ElementsMatch(t, []string{"calimatic-verification=abc", "v=spf1 -all"}, records)
	})
	t.Run("a name that does not exist has no records and is no error", func(t *testing.T) {
		r := system.NewNetResolverWith(fakeDNS(z, dnsmessage.RCodeSuccess), 5*time.Second)
		records, err := r.LookupTXT(ctx, "nonexistent.example.test")
		require.NoError(t, err)
		assert.Empty(t, records)
	})
	t.Run("a name without TXT records has none and is no error", func(t *testing.T) {
		r := system.NewNetResolverWith(fakeDNS(z, dnsmessage.RCodeSuccess), 5*time.Second)
		records, err := r.LookupTXT(ctx, "empty.example.test")
		require.NoError(t, err)
		assert.Empty(t, records)
	})
	t.Run("SERVFAIL is an error, unavailable", func(t *testing.T) {
		r := system.NewNetResolverWith(fakeDNS(z, dnsmessage.RCodeServerFailure), 5*time.Second)
		records, err := r.LookupTXT(ctx, "_calimatic.example.test")
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.Empty(t, records)
	})
	t.Run("a resolver that cannot be reached is an error, unavailable", func(t *testing.T) {
		refuse := &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("connection refused")
		}}
		_, err := system.NewNetResolverWith(refuse, 5*time.Second).LookupTXT(ctx, "_calimatic.example.test")
		require.ErrorIs(t, err, domain.ErrUnavailable)
	})
	t.Run("a resolver that never answers is an error once the timeout is up", func(t *testing.T) {
		silent := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			client, server := net.Pipe()
			go func() { <-ctx.Done(); server.Close() }()
			return client, nil
		}}
		start := time.Now()
		_, err := system.NewNetResolverWith(silent, 200*time.Millisecond).LookupTXT(ctx, "_calimatic.example.test")
		require.ErrorIs(t, err, domain.ErrUnavailable)
		assert.Less(t, time.Since(start), 3*time.Second, "the lookup is bounded by the resolver's timeout")
	})
}
