package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

const consentsCollection = "consents"

func init() {
	registerIndexes(consentsCollection, mongo.IndexModel{
		Keys: bson.D{{Key: "user_id", Value: 1}, {Key: "client_id", Value: 1}, {Key: "v", Value: -1}},
	})
}

// A consent is kept as numbered versions, each a whole consent: the newest
// one counts. A change inserts the next version, and the unique _id
// (user, client, version) lets exactly one of concurrent writers take each
// number; the others read again and merge into the newer one. This is the
// compare-and-swap the port needs (concurrent puts lose no scope): a
// conditional update or an $addToSet upsert is not atomic on FerretDB 1.24,
// which loses scopes to concurrent puts. A deletion is a version too (a
// tombstone), so a writer that read before it cannot bring the consent back.
// Versions grow by one per approval; a deletion prunes those below it.

// consentVersionID is the _id of one version of a consent.
type consentVersionID struct {
	UserID   string `bson:"u"`
	ClientID string `bson:"c"`
	V        int64  `bson:"v"`
}

// consentDoc is one version of a consent. Deleted marks a tombstone.
type consentDoc struct {
	ID        consentVersionID `bson:"_id"`
	UserID    string           `bson:"user_id"`
	ClientID  string           `bson:"client_id"`
	V         int64            `bson:"v"`
	Deleted   bool             `bson:"deleted,omitempty"`
	Scopes    []string         `bson:"scopes"`
	CreatedAt time.Time        `bson:"created_at,omitempty"`
	UpdatedAt time.Time        `bson:"updated_at,omitempty"`
}

func newConsentDoc(c *domain.Consent, v int64) *consentDoc {
	return &consentDoc{
		ID:     consentVersionID{UserID: c.UserID, ClientID: c.ClientID, V: v},
		UserID: c.UserID, ClientID: c.ClientID, V: v,
		Scopes: c.Scopes, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

func (d *consentDoc) domain() domain.Consent {
	return domain.Consent{UserID: d.UserID, ClientID: d.ClientID, Scopes: d.Scopes, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

func consentFilter(userID, clientID string) bson.D {
	return bson.D{{Key: "user_id", Value: userID}, {Key: "client_id", Value: clientID}}
}

// newestConsent returns the newest version of a consent, live or a
// tombstone, and whether there is any.
func (s *GrantStore) newestConsent(ctx context.Context, userID, clientID string) (consentDoc, bool, error) {
	var d consentDoc
	err := newestVersion(ctx, s.consents, consentFilter(userID, clientID), &d)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return consentDoc{}, false, nil
	case err != nil:
		return consentDoc{}, false, err
	}
	return d, true, nil
}

// GetConsent returns the newest version of the consent. ErrNotFound if there
// is none or it is a tombstone.
func (s *GrantStore) GetConsent(ctx context.Context, userID, clientID string) (domain.Consent, error) {
	d, ok, err := s.newestConsent(ctx, userID, clientID)
	if err != nil {
		return domain.Consent{}, translate("get consent", err)
	}
	if !ok || d.Deleted {
		return domain.Consent{}, translate("get consent", mongo.ErrNoDocuments)
	}
	return d.domain(), nil
}

// PutConsent merges c into the newest version and inserts the result as the
// next one, retrying on a lost race: the stored scopes keep their order and
// c's new ones follow in c's order; the first CreatedAt is kept and
// UpdatedAt is c's. The insert is the only write, so a crash leaves the
// consent as it was or as merged, never partly merged.
func (s *GrantStore) PutConsent(ctx context.Context, c domain.Consent) error {
	const op = "put consent"
	for range versionAttempts {
		d, ok, err := s.newestConsent(ctx, c.UserID, c.ClientID)
		if err != nil {
			return translate(op, err)
		}
		merged, v := c, int64(0)
		merged.Scopes = mergeScopes(nil, c.Scopes)
		if ok {
			v = d.V + 1
			if !d.Deleted {
				merged.Scopes = mergeScopes(d.Scopes, c.Scopes)
				merged.CreatedAt = d.CreatedAt
			}
		}
		_, err = s.consents.InsertOne(ctx, newConsentDoc(&merged, v))
		if !mongo.IsDuplicateKeyError(err) {
			return translate(op, err)
		}
	}
	return fmt.Errorf("mongo: %s: %w", op, domain.ErrConflict)
}

// DeleteConsent inserts a tombstone as the next version, then prunes the
// versions below it: nothing under a tombstone can be seen again, and a
// writer that read one of them before loses its race against the tombstone
// or writes below it, unseen. ErrNotFound if there is no live consent.
func (s *GrantStore) DeleteConsent(ctx context.Context, userID, clientID string) error {
	const op = "delete consent"
	for range versionAttempts {
		d, ok, err := s.newestConsent(ctx, userID, clientID)
		if err != nil {
			return translate(op, err)
		}
		if !ok || d.Deleted {
			return translate(op, mongo.ErrNoDocuments)
		}
		tomb := consentDoc{
			ID:     consentVersionID{UserID: userID, ClientID: clientID, V: d.V + 1},
			UserID: userID, ClientID: clientID, V: d.V + 1, Deleted: true, Scopes: []string{},
		}
		_, err = s.consents.InsertOne(ctx, tomb)
		if mongo.IsDuplicateKeyError(err) {
			continue
		}
		if err != nil {
			return translate(op, err)
		}
		// Pruning is tidying: what it misses stays hidden under the tombstone.
		_, _ = s.consents.DeleteMany(ctx, append(consentFilter(userID, clientID),
			bson.E{Key: "v", Value: bson.D{{Key: "$lt", Value: tomb.V}}}))
		return nil
	}
	return fmt.Errorf("mongo: %s: %w", op, domain.ErrConflict)
}

// ListUserConsents returns the newest version of each of the user's
// consents that is not a tombstone, ordered by client id, at most
// ports.MaxUserConsents. One find walks the user's versions on the consent
// index, by client id and newest version first: the first version of each
// client is the one that counts, and the walk stops once the bound is met.
// It is no aggregation ($group), which FerretDB 1.24 may not run alike.
// Each consent is read as it stands when the walk reaches it, as
// GetConsent would read it.
func (s *GrantStore) ListUserConsents(ctx context.Context, userID string) ([]domain.Consent, error) {
	const op = "list user consents"
	cur, err := s.consents.Find(ctx, bson.D{{Key: "user_id", Value: userID}},
		options.Find().SetSort(bson.D{{Key: "client_id", Value: 1}, {Key: "v", Value: -1}}))
	if err != nil {
		return nil, translate(op, err)
	}
	defer func() { _ = cur.Close(context.WithoutCancel(ctx)) }()
	out := []domain.Consent{}
	var last *string // the client whose newest version was seen last
	for len(out) < ports.MaxUserConsents && cur.Next(ctx) {
		var d consentDoc
		if err := cur.Decode(&d); err != nil {
			return nil, translate(op, err)
		}
		if last != nil && d.ClientID == *last {
			continue // an older version of a consent already taken
		}
		last = &d.ClientID
		if !d.Deleted {
			out = append(out, d.domain())
		}
	}
	if err := cur.Err(); err != nil {
		return nil, translate(op, err)
	}
	return out, nil
}

// mergeScopes returns have followed by the scopes of add it lacks, in add's
// order, without repeats; never nil, so the document holds an array.
func mergeScopes(have, add []string) []string {
	out := make([]string, 0, len(have)+len(add))
	for _, s := range slices.Concat(have, add) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
