package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.ClientStore = (*ClientStore)(nil)

const clientsCollection = "clients"

// ClientStore is the MongoDB ports.ClientStore: one document per client,
// keyed by the client id. Secrets and registration tokens arrive as hashes
// and are stored as such.
type ClientStore struct{ coll *collection }

// NewClientStore returns a ClientStore on db.
func NewClientStore(db *mongo.Database) *ClientStore {
	return &ClientStore{coll: collectionOf(db, clientsCollection)}
}

// clientDoc is the stored form of a domain.Client. Rev counts the writes,
// for UpdateClient's compare-and-swap.
type clientDoc struct {
	ID                       string    `bson:"_id"`
	Rev                      int64     `bson:"rev"`
	SecretHash               []byte    `bson:"secret_hash"`
	RegistrationTokenHash    []byte    `bson:"registration_token_hash"`
	Name                     string    `bson:"name"`
	RedirectURIs             []string  `bson:"redirect_uris"`
	PostLogoutRedirectURIs   []string  `bson:"post_logout_redirect_uris"`
	GrantTypes               []string  `bson:"grant_types"`
	ResponseTypes            []string  `bson:"response_types"`
	Scopes                   []string  `bson:"scopes"`
	TokenEndpointAuthMethod  string    `bson:"token_endpoint_auth_method"`
	ClientURI                string    `bson:"client_uri"`
	LogoURI                  string    `bson:"logo_uri"`
	Contacts                 []string  `bson:"contacts"`
	IDTokenSignedResponseAlg string    `bson:"id_token_signed_response_alg"`
	ApprovedScopes           []string  `bson:"approved_scopes"`
	FirstParty               bool      `bson:"first_party"`
	LicenseRequired          bool      `bson:"license_required"`
	PKCERequired             bool      `bson:"pkce_required,omitempty"`
	PolicyURI                string    `bson:"policy_uri,omitempty"`
	TosURI                   string    `bson:"tos_uri,omitempty"`
	JWKS                     string    `bson:"jwks,omitempty"`
	JWKSURI                  string    `bson:"jwks_uri,omitempty"`
	AssertionAlg             string    `bson:"token_endpoint_auth_signing_alg,omitempty"`
	RequirePAR               bool      `bson:"require_pushed_authorization_requests,omitempty"`
	DPoPBound                bool      `bson:"dpop_bound_access_tokens,omitempty"`
	BackchannelLogoutURI     string    `bson:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSID     bool      `bson:"backchannel_logout_session_required,omitempty"`
	Disabled                 bool      `bson:"disabled"`
	CreatedAt                time.Time `bson:"created_at"`
	UpdatedAt                time.Time `bson:"updated_at"`
}

func newClientDoc(c *domain.Client, rev int64) *clientDoc {
	return &clientDoc{
		ID: c.ID, Rev: rev, SecretHash: c.SecretHash, RegistrationTokenHash: c.RegistrationTokenHash,
		Name: c.Name, RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
		GrantTypes: c.GrantTypes, ResponseTypes: c.ResponseTypes, Scopes: c.Scopes,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, ClientURI: c.ClientURI, LogoURI: c.LogoURI,
		Contacts: c.Contacts, IDTokenSignedResponseAlg: c.IDTokenSignedResponseAlg,
		ApprovedScopes: c.ApprovedScopes, FirstParty: c.FirstParty, LicenseRequired: c.LicenseRequired, PKCERequired: c.PKCERequired,
		PolicyURI: c.PolicyURI, TosURI: c.TosURI,
		JWKS: c.JWKS, JWKSURI: c.JWKSURI, AssertionAlg: c.TokenEndpointAuthSigningAlg,
		RequirePAR: c.RequirePAR, DPoPBound: c.DPoPBound,
		BackchannelLogoutURI: c.BackchannelLogoutURI, BackchannelLogoutSID: c.BackchannelLogoutSessionRequired,
		Disabled: c.Disabled, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func (d *clientDoc) domain() domain.Client {
	return domain.Client{
		ID: d.ID, SecretHash: d.SecretHash, RegistrationTokenHash: d.RegistrationTokenHash,
		Name: d.Name, RedirectURIs: d.RedirectURIs, PostLogoutRedirectURIs: d.PostLogoutRedirectURIs,
		GrantTypes: d.GrantTypes, ResponseTypes: d.ResponseTypes, Scopes: d.Scopes,
		TokenEndpointAuthMethod: d.TokenEndpointAuthMethod, ClientURI: d.ClientURI, LogoURI: d.LogoURI,
		Contacts: d.Contacts, IDTokenSignedResponseAlg: d.IDTokenSignedResponseAlg,
		ApprovedScopes: d.ApprovedScopes, FirstParty: d.FirstParty, LicenseRequired: d.LicenseRequired, PKCERequired: d.PKCERequired,
		PolicyURI: d.PolicyURI, TosURI: d.TosURI,
		JWKS: d.JWKS, JWKSURI: d.JWKSURI, TokenEndpointAuthSigningAlg: d.AssertionAlg,
		RequirePAR: d.RequirePAR, DPoPBound: d.DPoPBound,
		BackchannelLogoutURI: d.BackchannelLogoutURI, BackchannelLogoutSessionRequired: d.BackchannelLogoutSID,
		Disabled: d.Disabled, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

func (d *clientDoc) revision() int64 { return d.Rev }

// CreateClient stores a new client. ErrAlreadyExists if the id is taken.
func (s *ClientStore) CreateClient(ctx context.Context, c domain.Client) error {
	_, err := s.coll.InsertOne(ctx, newClientDoc(&c, 0))
	return translate("create client", err)
}

// GetClient returns a client by id. ErrNotFound if there is none.
func (s *ClientStore) GetClient(ctx context.Context, id string) (domain.Client, error) {
	var d clientDoc
	if err := s.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return domain.Client{}, translate("get client", err)
	}
	return d.domain(), nil
}

// UpdateClient applies fn to the stored client and writes the result with a
// compare-and-swap on its revision (see updateByRev).
func (s *ClientStore) UpdateClient(ctx context.Context, id string, fn func(*domain.Client) error) (domain.Client, error) {
	return updateByRev(ctx, s.coll, "update client", id,
		func(d *clientDoc) domain.Client { return d.domain() },
		func(c *domain.Client, rev int64) any {
			c.ID = id // the id is the key; fn cannot move the record
			return newClientDoc(c, rev)
		}, fn)
}

// DeleteClient removes a client. ErrNotFound if there is none.
func (s *ClientStore) DeleteClient(ctx context.Context, id string) error {
	res, err := s.coll.DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return translate("delete client", err)
	}
	if res.DeletedCount == 0 {
		return translate("delete client", mongo.ErrNoDocuments)
	}
	return nil
}

// ListClients returns up to limit clients ordered by id, after the id
// after: a range read on _id.
func (s *ClientStore) ListClients(ctx context.Context, after string, limit int) ([]domain.Client, error) {
	if limit <= 0 {
		return []domain.Client{}, nil
	}
	return findAll[domain.Client, clientDoc](ctx, s.coll, "list clients", bson.M{"_id": bson.M{"$gt": after}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}

// upsertAttempts bounds the retries of an upsert or an insert that lost a
// race on a unique index: the next attempt finds the winner's document.
const upsertAttempts = 5

// errKeepsChanging fails an operation whose documents changed under every
// one of its attempts.
var errKeepsChanging = errors.New("the documents keep changing; try again")

// isUniqueViolation reports whether a write broke a unique index. MongoDB
// says so with a duplicate key error; FerretDB 1.24 does for inserts, but
// fails an update or a replacement with an InternalError that quotes
// SQLite's "UNIQUE constraint failed".
func isUniqueViolation(err error) bool {
	return err != nil && (mongo.IsDuplicateKeyError(err) || strings.Contains(err.Error(), "UNIQUE constraint failed"))
}

// translateWrite is translate, with FerretDB's unique violations on
// updates made ErrAlreadyExists too.
func translateWrite(op string, err error) error {
	if isUniqueViolation(err) && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo: %s: %w: %w", op, domain.ErrAlreadyExists, err)
	}
	return translate(op, err)
}

const revisionClaimsCollection = "revision_claims"

// revisionClaimID names one revision of one document: the right to write
// it.
type revisionClaimID struct {
	Collection string `bson:"c"`
	ID         string `bson:"id"`
	Rev        int64  `bson:"rev"`
}

// revisionClaim is held, for a moment, by the one writer that may turn
// revision Rev-1 of a document into Rev. ClaimedAt is the holder's clock,
// used only as a lease (see claimLease), never as data.
type revisionClaim struct {
	ID        revisionClaimID `bson:"_id"`
	ClaimedAt time.Time       `bson:"claimed_at"`
}

// claimLease is how long a claim stands before another writer may break
// it: its holder has crashed between claiming and writing. Holders write
// within milliseconds.
const claimLease = 30 * time.Second

// revDoc is a stored document that carries a write counter.
type revDoc interface{ revision() int64 }

// updateByRev is the read-modify-write of one document, without
// transactions: it reads the document at revision r, applies fn to its
// domain value, and writes the result as r+1 with a replacement filtered on
// {_id, rev: r}.
//
// That filter alone is a compare-and-swap on MongoDB, but not on FerretDB
// 1.24, which runs a conditional replacement as a read and an
// unconditional write: racing writers of one revision all succeed there,
// losing updates. So the writer first inserts a claim on (collection, id,
// r+1) into revision_claims, whose unique _id lets exactly one writer of
// revision r through on either server; the others wait for it to write and
// read again. Only the holder writes, so its write meets no other, and it
// releases the claim after. A writer that read long ago and claims a
// revision already written (and released) finds its filter matching
// nothing, and reads again. The loop always ends: each lost race is
// another writer's success. fn's error aborts before any write; a unique
// index broken by the new value is ErrAlreadyExists.
func updateByRev[D any, PD interface {
	*D
	revDoc
}, T any](ctx context.Context, coll *collection, op, id string,
	toDomain func(PD) T, toDoc func(v *T, rev int64) any, fn func(*T) error,
) (T, error) {
	var zero T
	claims := collectionOf(coll.Database(), revisionClaimsCollection)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		d := PD(new(D))
		if err := coll.FindOne(ctx, bson.M{"_id": id}).Decode(d); err != nil {
			return zero, translate(op, err)
		}
		v, rev := toDomain(d), d.revision()
		if err := fn(&v); err != nil {
			return zero, err
		}
		claim := revisionClaim{ID: revisionClaimID{Collection: coll.Name(), ID: id, Rev: rev + 1}, ClaimedAt: time.Now()}
		_, err := claims.InsertOne(ctx, &claim)
		if isUniqueViolation(err) {
			if err := breakStaleClaim(ctx, claims, claim.ID); err != nil {
				return zero, translate(op, err)
			}
			if err := sleepCtx(ctx, wait); err != nil {
				return zero, translate(op, err)
			}
			continue
		}
		if err != nil {
			return zero, translate(op, err)
		}
		res, err := coll.ReplaceOne(ctx, bson.M{"_id": id, "rev": rev}, toDoc(&v, rev+1))
		// Released whatever happened; one left behind by a failed release
		// stands for a revision already written, so it stops no one.
		_, _ = claims.DeleteOne(ctx, bson.M{"_id": claim.ID})
		if err != nil {
			return zero, translateWrite(op, err)
		}
		if res.MatchedCount == 1 {
			return v, nil
		}
	}
}

// breakStaleClaim deletes the claim if its lease has run out.
func breakStaleClaim(ctx context.Context, claims *collection, id revisionClaimID) error {
	_, err := claims.DeleteOne(ctx, bson.M{"_id": id, "claimed_at": bson.M{"$lt": time.Now().Add(-claimLease)}})
	return err
}

// sleepCtx waits for d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// hasDoc reports whether a document matches filter, reading only its id.
func hasDoc(ctx context.Context, coll *collection, filter any) (bool, error) {
	err := coll.FindOne(ctx, filter, options.FindOne().SetProjection(bson.M{"_id": 1})).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, mongo.ErrNoDocuments):
		return false, nil
	default:
		return false, err
	}
}
