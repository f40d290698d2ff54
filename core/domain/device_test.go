package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/calimatic/calimatic-auth/core/domain"
)

func TestDeviceGrantPoll(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	base := domain.DeviceGrant{Status: domain.DevicePending, Interval: 5 * time.Second, ExpiresAt: t0.Add(10 * time.Minute)}
	with := func(edit func(*domain.DeviceGrant)) domain.DeviceGrant {
		g := base
		edit(&g)
		return g
	}
	cases := []struct {
		name         string
		grant        domain.DeviceGrant
		at           time.Time
		want         domain.DevicePoll
		wantStatus   domain.DeviceStatus
		wantInterval time.Duration
	}{
		{"a first poll of a pending grant is pending", base, t0, domain.PollPending, domain.DevicePending, 5 * time.Second},
		{"a poll a full interval after the last is pending",
			with(func(g *domain.DeviceGrant) { g.LastPolledAt = t0.Add(-5 * time.Second) }), t0,
			domain.PollPending, domain.DevicePending, 5 * time.Second},
		{"a poll before the interval is up slows the device down by five seconds",
			with(func(g *domain.DeviceGrant) { g.LastPolledAt = t0.Add(-4 * time.Second) }), t0,
			domain.PollSlowDown, domain.DevicePending, 10 * time.Second},
		{"an approved grant is redeemed by the poll that sees it, however early",
			with(func(g *domain.DeviceGrant) { g.Status, g.LastPolledAt = domain.DeviceApproved, t0 }), t0,
			domain.PollIssue, domain.DeviceRedeemed, 5 * time.Second},
		{"a redeemed grant is used", with(func(g *domain.DeviceGrant) { g.Status = domain.DeviceRedeemed }), t0,
			domain.PollUsed, domain.DeviceRedeemed, 5 * time.Second},
		{"a redeemed grant stays used after it expired", with(func(g *domain.DeviceGrant) { g.Status = domain.DeviceRedeemed }), base.ExpiresAt,
			domain.PollUsed, domain.DeviceRedeemed, 5 * time.Second},
		{"a denied grant is denied", with(func(g *domain.DeviceGrant) { g.Status = domain.DeviceDenied }), t0,
			domain.PollDenied, domain.DeviceDenied, 5 * time.Second},
		{"a pending grant at its expiry is expired", base, base.ExpiresAt, domain.PollExpired, domain.DevicePending, 5 * time.Second},
		{"an approved grant past its expiry is expired, not issued",
			with(func(g *domain.DeviceGrant) { g.Status = domain.DeviceApproved }), base.ExpiresAt.Add(time.Second),
			domain.PollExpired, domain.DeviceApproved, 5 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.grant
			assert.Equal(t, tc.want, g.Poll(tc.at))
			assert.Equal(t, tc.wantStatus, g.Status)
			assert.Equal(t, tc.wantInterval, g.Interval)
		})
	}
}

func TestDeviceGrantIsDecidableOnlyWhilePendingAndLive(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	g := domain.DeviceGrant{Status: domain.DevicePending, ExpiresAt: t0.Add(time.Minute)}
	assert.True(t, g.Decidable(t0))
	assert.False(t, g.Decidable(g.ExpiresAt), "at expiry")
	g.Status = domain.DeviceApproved
	assert.False(t, g.Decidable(t0), "once approved")
}

func TestNormalizeUserCode(t *testing.T) {
	cases := []struct {
		name, typed, want string
		ok                bool
	}{
		{"the displayed form reads back", "WDJB-MJHT", "WDJBMJHT", true},
		{"lower case and spaces do not matter", " wdjb mjht ", "WDJBMJHT", true},
		{"no dash is fine", "wdjbmjht", "WDJBMJHT", true},
		{"a vowel is not in the alphabet", "WDJB-MJHA", "", false},
		{"a zero is not in the alphabet", "WDJB-MJH0", "", false},
		{"seven letters are too few", "WDJB-MJH", "", false},
		{"nine letters are too many", "WDJB-MJHTB", "", false},
		{"a very long input is refused before it is read", string(make([]byte, 100)), "", false},
		{"non-ASCII is refused", "WDJB-MJHŤ", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := domain.NormalizeUserCode(tc.typed)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestUserCodeFromSkipsBiasedBytesAndFormats(t *testing.T) {
	code, ok := domain.UserCodeFrom([]byte{0, 255, 1, 2, 3, 240, 4, 5, 6, 19, 20})
	assert.True(t, ok)
	assert.Equal(t, "BCDFGHJZ", code, "255 and 240 are dropped; 20 wraps to B")
	assert.Equal(t, "BCDF-GHJZ", domain.FormatUserCode(code))
	_, ok = domain.UserCodeFrom([]byte{250, 251, 1})
	assert.False(t, ok, "too few usable bytes")
}
