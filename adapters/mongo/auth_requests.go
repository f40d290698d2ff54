package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.AuthRequestStore = (*AuthRequestStore)(nil)

const authRequestsCollection = "auth_requests"

func init() {
	registerIndexes(authRequestsCollection,
		mongo.IndexModel{Keys: bson.D{{Key: "request_id", Value: 1}, {Key: "v", Value: -1}}},
		expiresAtIndex())
}

// AuthRequestStore is the MongoDB ports.AuthRequestStore.
//
// A request is kept as numbered versions, each a whole request: the newest
// one counts. Creating inserts version 0; an update inserts the next
// version; a deletion inserts a tombstone. The unique _id (id, version) lets
// exactly one of concurrent writers take each number, which is the
// compare-and-swap UpdateAuthRequest needs and the "exactly one true" of
// DeleteAuthRequest. FerretDB 1.24 runs a conditional replaceOne as a read
// and an unconditional write, so a revision field checked in the filter
// would lose concurrent updates there. Every write is one insert, so a crash
// leaves the request at one version or the next. Versions live as long as
// the request: they are few (a login, a failed password), and keeping them
// means a version number is never free again for a writer that read an old
// one. The janitor deletes them all once the request has expired.
type AuthRequestStore struct{ coll *collection }

// NewAuthRequestStore returns an AuthRequestStore on db.
func NewAuthRequestStore(db *mongo.Database) *AuthRequestStore {
	return &AuthRequestStore{coll: collectionOf(db, authRequestsCollection)}
}

// authRequestVersionID is the _id of one version of a request.
type authRequestVersionID struct {
	ID string `bson:"id"`
	V  int64  `bson:"v"`
}

// authRequestDoc is one version of a request. Deleted marks a tombstone,
// which keeps the request's expiry so that it is swept with the rest.
type authRequestDoc struct {
	Key                 authRequestVersionID `bson:"_id"`
	ID                  string               `bson:"request_id"`
	V                   int64                `bson:"v"`
	Deleted             bool                 `bson:"deleted,omitempty"`
	BindingHash         []byte               `bson:"binding_hash,omitempty"`
	CSRFToken           string               `bson:"csrf_token,omitempty"`
	ClientID            string               `bson:"client_id,omitempty"`
	RedirectURI         string               `bson:"redirect_uri,omitempty"`
	Scopes              []string             `bson:"scopes"`
	State               string               `bson:"state,omitempty"`
	Nonce               string               `bson:"nonce,omitempty"`
	CodeChallenge       string               `bson:"code_challenge,omitempty"`
	CodeChallengeMethod string               `bson:"code_challenge_method,omitempty"`
	Prompt              []string             `bson:"prompt"`
	MaxAge              int                  `bson:"max_age"`
	LoginHint           string               `bson:"login_hint,omitempty"`
	ResponseMode        string               `bson:"response_mode,omitempty"`
	UserID              string               `bson:"user_id,omitempty"`
	AuthTime            time.Time            `bson:"auth_time,omitempty"`
	SessionID           string               `bson:"session_id,omitempty"`
	AMR                 []string             `bson:"amr"`
	FailedLogins        int                  `bson:"failed_logins"`
	DeviceCodeHash      []byte               `bson:"device_code_hash,omitempty"`
	DPoPJKT             string               `bson:"dpop_jkt,omitempty"`
	Claims              string               `bson:"claims,omitempty"`
	ACRValues           []string             `bson:"acr_values,omitempty"`
	FactorUserID        string               `bson:"factor_user_id,omitempty"`
	Ceremony            []byte               `bson:"ceremony,omitempty"`
	ReturnTo            string               `bson:"return_to,omitempty"`
	Upstream            *upstreamAttemptDoc  `bson:"upstream,omitempty"`
	CreatedAt           time.Time            `bson:"created_at,omitempty"`
	ExpiresAt           time.Time            `bson:"expires_at"`
}

// upstreamAttemptDoc is the stored form of a domain.UpstreamAttempt, a
// subdocument of the request: its fields, in its order, so that each
// converts to the other (and a field added to one fails the build until
// the other has it). A request without one, as every request stored before
// federation, has no such field.
type upstreamAttemptDoc struct {
	ProviderID   string    `bson:"provider_id"`
	State        string    `bson:"state"`
	Nonce        string    `bson:"nonce"`
	CodeVerifier string    `bson:"code_verifier"`
	StartedAt    time.Time `bson:"started_at"`
	Fresh        bool      `bson:"fresh,omitempty"`
	MaxAge       int       `bson:"max_age,omitempty"`
}

func newAuthRequestDoc(r *domain.AuthRequest, v int64) *authRequestDoc {
	var upstream *upstreamAttemptDoc
	if r.Upstream != nil {
		d := upstreamAttemptDoc(*r.Upstream)
		upstream = &d
	}
	return &authRequestDoc{
		Key: authRequestVersionID{ID: r.ID, V: v}, ID: r.ID, V: v,
		BindingHash: r.BindingHash, CSRFToken: r.CSRFToken, ClientID: r.ClientID,
		RedirectURI: r.RedirectURI, Scopes: r.Scopes, State: r.State, Nonce: r.Nonce,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod,
		Prompt: r.Prompt, MaxAge: r.MaxAge, LoginHint: r.LoginHint, ResponseMode: r.ResponseMode,
		UserID: r.UserID, AuthTime: r.AuthTime, SessionID: r.SessionID, AMR: r.AMR,
		FailedLogins: r.FailedLogins, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		DeviceCodeHash: r.DeviceCodeHash, DPoPJKT: r.DPoPJKT, Claims: r.Claims,
		ACRValues: r.ACRValues, FactorUserID: r.FactorUserID, Ceremony: r.Ceremony, ReturnTo: r.ReturnTo,
		Upstream: upstream,
	}
}

func (d *authRequestDoc) domain() domain.AuthRequest {
	var upstream *domain.UpstreamAttempt
	if d.Upstream != nil {
		u := domain.UpstreamAttempt(*d.Upstream)
		upstream = &u
	}
	return domain.AuthRequest{
		ID: d.ID, BindingHash: d.BindingHash, CSRFToken: d.CSRFToken, ClientID: d.ClientID,
		RedirectURI: d.RedirectURI, Scopes: d.Scopes, State: d.State, Nonce: d.Nonce,
		CodeChallenge: d.CodeChallenge, CodeChallengeMethod: d.CodeChallengeMethod,
		Prompt: d.Prompt, MaxAge: d.MaxAge, LoginHint: d.LoginHint, ResponseMode: d.ResponseMode,
		UserID: d.UserID, AuthTime: d.AuthTime, SessionID: d.SessionID, AMR: d.AMR,
		FailedLogins: d.FailedLogins, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt,
		DeviceCodeHash: d.DeviceCodeHash, DPoPJKT: d.DPoPJKT, Claims: d.Claims,
		ACRValues: d.ACRValues, FactorUserID: d.FactorUserID, Ceremony: d.Ceremony, ReturnTo: d.ReturnTo,
		Upstream: upstream,
	}
}

// newest returns the newest version of request id, and whether there is any.
func (s *AuthRequestStore) newest(ctx context.Context, id string) (authRequestDoc, bool, error) {
	var d authRequestDoc
	err := newestVersion(ctx, s.coll, bson.D{{Key: "request_id", Value: id}}, &d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return authRequestDoc{}, false, nil
	case err != nil:
		return authRequestDoc{}, false, err
	}
	return d, true, nil
}

// live returns the newest version of request id if it is neither deleted nor
// expired at now; otherwise mongo.ErrNoDocuments. Expiry is judged on the
// newest version, in code: a filter on expires_at would fall back to an
// older version if an update had moved the expiry earlier.
func (s *AuthRequestStore) live(ctx context.Context, id string, now time.Time) (authRequestDoc, error) {
	d, ok, err := s.newest(ctx, id)
	switch {
	case err != nil:
		return authRequestDoc{}, err
	case !ok || d.Deleted || !now.Before(d.ExpiresAt):
		return authRequestDoc{}, mongo.ErrNoDocuments
	}
	return d, nil
}

// CreateAuthRequest inserts version 0. ErrAlreadyExists if the id is taken.
func (s *AuthRequestStore) CreateAuthRequest(ctx context.Context, r domain.AuthRequest) error {
	_, err := s.coll.InsertOne(ctx, newAuthRequestDoc(&r, 0))
	return translate("create auth request", err)
}

// GetAuthRequest returns the newest version of a request, unless it was
// deleted or expired at now.
func (s *AuthRequestStore) GetAuthRequest(ctx context.Context, id string, now time.Time) (domain.AuthRequest, error) {
	d, err := s.live(ctx, id, now)
	if err != nil {
		return domain.AuthRequest{}, translate("get auth request", err)
	}
	return d.domain(), nil
}

// UpdateAuthRequest reads the newest live version, applies fn to a copy and
// inserts the result as the next version. If another writer took that number
// first, it reads again and calls fn again on the newer request, so fn may
// run more than once and must only change the request it is given. A failed
// fn writes nothing.
func (s *AuthRequestStore) UpdateAuthRequest(ctx context.Context, id string, now time.Time, fn func(*domain.AuthRequest) error) (domain.AuthRequest, error) {
	const op = "update auth request"
	for range versionAttempts {
		d, err := s.live(ctx, id, now)
		if err != nil {
			return domain.AuthRequest{}, translate(op, err)
		}
		r := d.domain() // freshly decoded: fn cannot reach stored slices
		if err := fn(&r); err != nil {
			return domain.AuthRequest{}, err
		}
		r.ID = id // the id is the key; fn cannot move the record
		_, err = s.coll.InsertOne(ctx, newAuthRequestDoc(&r, d.V+1))
		switch {
		case err == nil:
			return r, nil
		case !mongo.IsDuplicateKeyError(err):
			return domain.AuthRequest{}, translate(op, err)
		}
	}
	return domain.AuthRequest{}, fmt.Errorf("mongo: %s: %w", op, domain.ErrConflict)
}

// DeleteAuthRequest inserts a tombstone as the next version and reports
// whether this call did: of concurrent calls exactly one inserts it, so a
// request completes once. A request that is already gone reports false.
func (s *AuthRequestStore) DeleteAuthRequest(ctx context.Context, id string) (bool, error) {
	const op = "delete auth request"
	for range versionAttempts {
		d, ok, err := s.newest(ctx, id)
		if err != nil {
			return false, translate(op, err)
		}
		if !ok || d.Deleted {
			return false, nil
		}
		tomb := authRequestDoc{
			Key: authRequestVersionID{ID: id, V: d.V + 1}, ID: id, V: d.V + 1,
			Deleted: true, ExpiresAt: d.ExpiresAt,
		}
		_, err = s.coll.InsertOne(ctx, tomb)
		switch {
		case err == nil:
			return true, nil
		case !mongo.IsDuplicateKeyError(err):
			return false, translate(op, err)
		}
	}
	return false, fmt.Errorf("mongo: %s: %w", op, domain.ErrConflict)
}

// sweepAuthRequests deletes at most batch versions and tombstones of requests
// that expired before now minus expiredDocLag, and returns how many it
// deleted; calling it until it returns 0 drains a backlog. All versions of a
// request share its expiry, so they go together.
func sweepAuthRequests(ctx context.Context, db *mongo.Database, now time.Time, batch int) (int, error) {
	return sweepCollections(ctx, db, now, batch, authRequestsCollection)
}
