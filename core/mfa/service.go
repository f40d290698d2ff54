package mfa

import (
	"context"
	"errors"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
	"github.com/calimatic/calimatic-auth/ports"
)

// Config tunes the second factors.
type Config struct {
	// Issuer names the service in authenticator apps ("Calimatic").
	Issuer string
	// Attempts throttles the codes one account may try, from anywhere:
	// whoever tries has the password already, so a per-address limit
	// would let them spread the guessing out.
	Attempts domain.RateRule
	// EnrolTTL is how long a TOTP enrolment waits for its first code.
	EnrolTTL time.Duration
	// RPID is the WebAuthn relying party id passkeys are bound to: the
	// issuer's host, without a port. Empty turns passkeys off. WebAuthn
	// takes no IP address here, so a server reached by one has none.
	RPID string
	// RPOrigins are the origins a passkey ceremony may come from: the
	// issuer's scheme, host and port.
	RPOrigins []string
	// RPName names the service in the browser's passkey dialogs.
	RPName string
}

// Defaults for the zero values of Config.
const (
	DefaultIssuer   = "Calimatic"
	DefaultEnrolTTL = 15 * time.Minute
	DefaultRPName   = "Calimatic"
)

// DefaultAttempts allows five codes per account in fifteen minutes. Three
// codes are valid at any moment out of 10⁶, so a guesser who has the
// password gets 480 tries a day, odds of 0.14% a day; a pending sign-in
// takes five wrong answers before it is dropped, and each new one costs a
// password check under the sign-in throttle.
var DefaultAttempts = domain.RateRule{Name: "mfa", Limit: 5, Window: 15 * time.Minute}

// Deps are the ports the factors need.
type Deps struct {
	Factors ports.FactorStore
	Users   ports.UserStore
	Orgs    ports.OrganizationStore
	// Roles and Groups resolve what a membership holds, for the
	// organizations' policies (access.Resolve).
	Roles  ports.RoleStore
	Groups ports.GroupStore
	Events ports.EventPublisher
	Units  ports.UnitOfWork
	// Mailer sends the holder a notice of each change; it should log what
	// it fails to send, since the change goes on without it.
	Mailer  ports.Mailer
	Limiter ports.RateLimiter
	Clock   ports.Clock
	Random  ports.Random
	// Replay spends each passkey sign-in's challenge once. Passkeys are
	// off without it.
	Replay ports.ReplayCache
}

// Service runs the second factors' use cases. It is safe for concurrent use.
type Service struct {
	cfg  Config
	deps Deps
	// rp runs the WebAuthn ceremonies; nil when passkeys are off, and
	// rpOff then says why.
	rp    *webauthn.WebAuthn
	rpOff error
}

// New returns a Service, with defaults for cfg's zero values.
func New(cfg Config, deps Deps) *Service {
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.EnrolTTL <= 0 {
		cfg.EnrolTTL = DefaultEnrolTTL
	}
	if cfg.Attempts.Name == "" {
		cfg.Attempts.Name = DefaultAttempts.Name
	}
	if cfg.RPName == "" {
		cfg.RPName = DefaultRPName
	}
	s := &Service{cfg: cfg, deps: deps}
	s.rp, s.rpOff = newRelyingParty(cfg, deps)
	return s
}

func (s *Service) now() time.Time { return s.deps.Clock.Now() }

// Errors a caller shows the user.
var (
	// ErrWrongCode: the code is not one the factor accepts now.
	ErrWrongCode = errors.New("mfa: the code is not right")
	// ErrThrottled: too many codes were tried for the account lately.
	ErrThrottled = errors.New("mfa: too many attempts")
	// ErrNoEnrolment: there is no enrolment under way, or it expired.
	ErrNoEnrolment = errors.New("mfa: no enrolment under way")
	// ErrNoFactor: the factor to use or remove is not there.
	ErrNoFactor = errors.New("mfa: no such factor")
	// ErrPasskeysOff: this server has no relying party id, so no passkeys.
	ErrPasskeysOff = errors.New("mfa: passkeys are off on this server")
	// ErrBadName: a passkey's name is empty, longer than 64 characters or
	// holds a control character.
	ErrBadName = errors.New("mfa: a passkey's name has 1 to 64 characters and no control characters")
	// ErrTooManyPasskeys: the account has domain.MaxPasskeys already.
	ErrTooManyPasskeys = errors.New("mfa: the account has as many passkeys as it may")
	// ErrPasskeyExists: the passkey being registered is the account's already.
	ErrPasskeyExists = errors.New("mfa: the passkey is registered already")
)

// Factors returns a user's factors.
func (s *Service) Factors(ctx context.Context, userID string) (domain.Factors, error) {
	f, err := s.deps.Factors.GetFactors(ctx, userID)
	if err != nil {
		return domain.Factors{}, fault.Store("get factors", err)
	}
	return f, nil
}

// update changes a user's factors, with the event fn returns, in one
// unit, and mails the holder once it is stored. fn sees the factors as
// stored and the user.
func (s *Service) update(ctx context.Context, userID string, fn func(f *domain.Factors, u *domain.User, now time.Time) (change, error)) (domain.Factors, error) {
	return s.write(ctx, userID, true, fn)
}

// spend is update for a change no event reports (a code spent, a
// ceremony begun): it needs no unit of work, which on MongoDB would make
// every sign-in wait for every other.
func (s *Service) spend(ctx context.Context, userID string, fn func(f *domain.Factors, u *domain.User, now time.Time) (change, error)) (domain.Factors, error) {
	return s.write(ctx, userID, false, fn)
}

// errEventOutsideUnit is a programming error: spend's fn asked for an
// event.
var errEventOutsideUnit = errors.New("mfa: an event outside a unit of work")

func (s *Service) write(ctx context.Context, userID string, inUnit bool, fn func(f *domain.Factors, u *domain.User, now time.Time) (change, error)) (domain.Factors, error) {
	var out domain.Factors
	var ch change
	var user domain.User
	body := func(ctx context.Context) error {
		u, err := s.deps.Users.GetUser(ctx, userID)
		if err != nil {
			return fault.Store("get user", err)
		}
		user = u
		now := s.now()
		out, err = s.deps.Factors.UpdateFactors(ctx, userID, func(f *domain.Factors) error {
			var err error
			ch, err = fn(f, &u, now)
			if err == nil && ch.event != "" && !inUnit {
				err = errEventOutsideUnit
			}
			if err == nil {
				f.UpdatedAt = now
			}
			return err
		})
		if err != nil {
			if errors.Is(err, errUnchanged) || errors.Is(err, errEventOutsideUnit) {
				return err
			}
			if _, ok := asUserError(err); ok {
				return err
			}
			return fault.Store("update factors", err)
		}
		if ch.event == "" {
			return nil
		}
		return s.publish(ctx, &u, ch, now)
	}
	var err error
	if inUnit {
		err = s.deps.Units.Atomically(ctx, body)
	} else {
		err = body(ctx)
	}
	if errors.Is(err, errUnchanged) {
		return out, nil
	}
	if err != nil {
		return domain.Factors{}, err
	}
	if ch.mail != "" {
		s.mail(ctx, &user, ch)
	}
	return out, nil
}

// errUnchanged ends an update that has nothing to write.
var errUnchanged = errors.New("mfa: unchanged")

// asUserError reports whether err is one the user is told of.
func asUserError(err error) (error, bool) {
	for _, e := range []error{
		ErrWrongCode, ErrNoEnrolment, ErrNoFactor,
		ErrPasskeysOff, ErrBadName, ErrTooManyPasskeys, ErrPasskeyExists,
	} {
		if errors.Is(err, e) {
			return e, true
		}
	}
	return nil, false
}

// mail tells the account holder of a change, best effort: a mail that
// fails leaves the change standing (the account page shows it), and the
// Mailer in Deps reports its own failures.
func (s *Service) mail(ctx context.Context, u *domain.User, ch change) {
	m := domain.Mail{To: u.Email, Subject: ch.subject, Text: "Hello " + u.GivenName + ",\n\n" + ch.mail +
		"\n\nIf this was not you, reset your password at once and tell your school's administrator.\n"}
	_ = s.deps.Mailer.Send(ctx, m)
}
