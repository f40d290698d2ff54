package oidc

import (
	"context"
	"strings"
	"time"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// The account page is Calimatic's own: its sign-in is a pending request
// with no client, which returns to a path of this provider once the user
// is signed in (AuthRequest.ReturnTo), through the same login and second
// factor pages, throttles and policies as any client's.

// RecentSignIn is how fresh a sign-in must be for a sensitive change on
// the account page (removing a factor, making new recovery codes): a
// session stolen or left open an hour ago cannot weaken the account.
const RecentSignIn = 10 * time.Minute

// AccountSession returns the browser's live session and its user, or nils
// when the browser is not signed in, or only with fewer factors than a
// policy now asks of the user.
func (p *Provider) AccountSession(ctx context.Context, b Browser) (*domain.Session, *domain.User, error) {
	return p.signedIn(ctx, b)
}

// Recent reports whether a session's sign-in is recent enough for a
// sensitive change.
func (p *Provider) Recent(s *domain.Session) bool {
	return p.now().Sub(s.AuthTime) <= RecentSignIn
}

// AccountSignIn starts a sign-in for the account page that goes back to
// returnTo, a path of this provider. With again, a signed-in user signs in
// afresh (a sensitive change wants a recent sign-in); loginHint fills in
// the email.
func (p *Provider) AccountSignIn(ctx context.Context, b Browser, returnTo, loginHint string, again bool) (Outcome, error) {
	if !strings.HasPrefix(returnTo, "/") || strings.HasPrefix(returnTo, "//") || strings.ContainsAny(returnTo, "\\\r\n") {
		return Outcome{Page: oauthErr(CodeInvalidRequest, "That page is not part of your account.")}, nil
	}
	r := domain.AuthRequest{ReturnTo: returnTo, MaxAge: -1, LoginHint: loginHint}
	if again {
		r.Prompt = []string{"login"}
	}
	return p.pend(ctx, r, b, StepLogin)
}
