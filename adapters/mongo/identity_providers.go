package mongo

import (
	"context"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var (
	_ ports.IdentityProviderStore = (*IdentityProviderStore)(nil)
	_ ports.LinkedIdentityStore   = (*LinkedIdentityStore)(nil)
)

const (
	identityProvidersCollection = "identity_providers"
	linkedIdentitiesCollection  = "linked_identities"
)

func init() {
	// ListIdentityProviders: an organization's providers in creation order.
	registerIndexes(identityProvidersCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "organization_id", Value: 1}, {Key: "created_at", Value: 1}, {Key: "_id", Value: 1}},
		Options: options.Index().SetName("identity_providers_organization"),
	})
	// ListLinkedIdentities and DeleteUserIdentities: a user's links.
	registerIndexes(linkedIdentitiesCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "user_id", Value: 1}, {Key: "created_at", Value: 1}},
		Options: options.Index().SetName("linked_identities_user"),
	})
}

// IdentityProviderStore is the MongoDB ports.IdentityProviderStore: one
// document per provider, keyed by its id. Its writes go through collection,
// so inside a unit of work they are journalled and undone with the unit.
// An update is updateByRev's compare-and-swap on the document's revision,
// which holds on FerretDB too.
//
// The client secret is sealed at rest (see sealer), bound to the provider's
// id, so that it does not open in another provider's document. The store
// keeps providers of any organization id, as the ports delete no
// organization.
type IdentityProviderStore struct {
	coll *collection
	box  sealer
}

// NewIdentityProviderStore returns an IdentityProviderStore on db that
// seals client secrets under keyEncryptionKey (KeyEncryptionKeySize bytes).
func NewIdentityProviderStore(db *mongo.Database, keyEncryptionKey []byte) (*IdentityProviderStore, error) {
	box, err := newSealer(keyEncryptionKey)
	if err != nil {
		return nil, err
	}
	return &IdentityProviderStore{coll: collectionOf(db, identityProvidersCollection), box: box}, nil
}

// providerDoc is the stored form of a domain.IdentityProvider. Rev counts
// the writes, for updateByRev. Scopes has no omitempty: null is the default
// scopes and [] none, which must stay apart.
type providerDoc struct {
	ID              string    `bson:"_id"`
	Rev             int64     `bson:"rev"`
	OrganizationID  string    `bson:"organization_id"`
	Name            string    `bson:"name"`
	Issuer          string    `bson:"issuer"`
	ClientID        string    `bson:"client_id"`
	SealedSecret    []byte    `bson:"sealed_client_secret"`
	Scopes          []string  `bson:"scopes"`
	Domains         []string  `bson:"domains,omitempty"`
	JITProvisioning bool      `bson:"jit_provisioning"`
	LinkExisting    bool      `bson:"link_existing"`
	CreatedAt       time.Time `bson:"created_at,omitempty"`
	UpdatedAt       time.Time `bson:"updated_at,omitempty"`
}

func (d *providerDoc) revision() int64 { return d.Rev }

// newDoc returns p's stored form at revision rev, its secret sealed anew
// (a fresh nonce).
func (s *IdentityProviderStore) newDoc(p *domain.IdentityProvider, rev int64) (*providerDoc, error) {
	sealed, err := s.box.seal(purposeClientSecret, p.ID, []byte(p.ClientSecret))
	if err != nil {
		return nil, err
	}
	return &providerDoc{
		ID: p.ID, Rev: rev, OrganizationID: p.OrganizationID, Name: p.Name, Issuer: p.Issuer,
		ClientID: p.ClientID, SealedSecret: sealed, Scopes: p.Scopes, Domains: p.Domains,
		JITProvisioning: p.JITProvisioning, LinkExisting: p.LinkExisting, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}, nil
}

// provider opens the document; a secret not sealed for this provider under
// this key fails with ErrClientSecretDecryption.
func (s *IdentityProviderStore) provider(d *providerDoc) (domain.IdentityProvider, error) {
	secret, err := s.box.open(purposeClientSecret, d.ID, d.SealedSecret, ErrClientSecretDecryption)
	if err != nil {
		return domain.IdentityProvider{}, err
	}
	return domain.IdentityProvider{
		ID: d.ID, OrganizationID: d.OrganizationID, Name: d.Name, Issuer: d.Issuer,
		ClientID: d.ClientID, ClientSecret: string(secret), Scopes: d.Scopes, Domains: d.Domains,
		JITProvisioning: d.JITProvisioning, LinkExisting: d.LinkExisting, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}, nil
}

// CreateIdentityProvider inserts a provider at revision 0.
// ErrAlreadyExists if its id is taken.
func (s *IdentityProviderStore) CreateIdentityProvider(ctx context.Context, p domain.IdentityProvider) error {
	const op = "create identity provider"
	d, err := s.newDoc(&p, 0)
	if err != nil {
		return translate(op, err)
	}
	_, err = s.coll.InsertOne(ctx, d)
	return translate(op, err)
}

// GetIdentityProvider returns a provider by id. ErrNotFound if none.
func (s *IdentityProviderStore) GetIdentityProvider(ctx context.Context, id string) (domain.IdentityProvider, error) {
	const op = "get identity provider"
	var d providerDoc
	if err := s.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return domain.IdentityProvider{}, translate(op, err)
	}
	p, err := s.provider(&d)
	if err != nil {
		return domain.IdentityProvider{}, translate(op, err)
	}
	return p, nil
}

// ListIdentityProviders returns an organization's providers by CreatedAt,
// then id (byte order, MongoDB's for strings). One whose secret does not
// open fails the list.
func (s *IdentityProviderStore) ListIdentityProviders(ctx context.Context, organizationID string) ([]domain.IdentityProvider, error) {
	const op = "list identity providers"
	cur, err := s.coll.Find(ctx, bson.M{"organization_id": organizationID},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id", Value: 1}}))
	if err != nil {
		return nil, translate(op, err)
	}
	var docs []providerDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(op, err)
	}
	out := make([]domain.IdentityProvider, len(docs))
	for i := range docs {
		if out[i], err = s.provider(&docs[i]); err != nil {
			return nil, translate(op, err)
		}
	}
	return out, nil
}

// HasIdentityProviders reports whether any organization has a provider
// (the sign-in page then asks for the email first), reading one id at
// most. The port gains this method on main (ports.IdentityProviderStore).
func (s *IdentityProviderStore) HasIdentityProviders(ctx context.Context) (bool, error) {
	found, err := hasDoc(ctx, s.coll, bson.M{})
	if err != nil {
		return false, translate("has identity providers", err)
	}
	return found, nil
}

// UpdateIdentityProvider applies fn to the provider with updateByRev: fn
// may run more than once, each time on the provider as stored then, and a
// failed fn writes nothing. A document whose secret does not open fails
// before fn runs. The id is the key: fn cannot move the provider, nor so
// unbind its sealed secret.
func (s *IdentityProviderStore) UpdateIdentityProvider(ctx context.Context, id string, fn func(*domain.IdentityProvider) error) (domain.IdentityProvider, error) {
	const op = "update identity provider"
	var (
		openErr error
		next    *providerDoc
	)
	p, err := updateByRev(ctx, s.coll, op, id,
		func(d *providerDoc) domain.IdentityProvider {
			p, err := s.provider(d)
			openErr = err
			return p
		},
		func(_ *domain.IdentityProvider, rev int64) any {
			next.Rev = rev
			return next
		},
		// Opened and sealed here, between updateByRev's read and its
		// write, so that an error of either stops the write.
		func(p *domain.IdentityProvider) error {
			if openErr != nil {
				return translate(op, openErr)
			}
			if err := fn(p); err != nil {
				return err
			}
			p.ID = id
			var err error
			next, err = s.newDoc(p, 0)
			return translate(op, err)
		})
	if err != nil {
		return domain.IdentityProvider{}, err
	}
	// What fn left may share the caller's slices: return a copy, as read
	// back.
	p.Scopes, p.Domains = slices.Clone(p.Scopes), slices.Clone(p.Domains)
	return p, nil
}

// DeleteIdentityProvider deletes a provider's document. ErrNotFound if
// none. The identities linked through it keep their links.
func (s *IdentityProviderStore) DeleteIdentityProvider(ctx context.Context, id string) error {
	return deleteMatching(ctx, s.coll, "delete identity provider", bson.M{"_id": id})
}

// LinkedIdentityStore is the MongoDB ports.LinkedIdentityStore: one
// document per link, keyed by (issuer, subject). A link is one insert, and
// the unique _id lets exactly one of racing links of an identity be made:
// FerretDB 1.24 makes no conditional update atomic, so nothing else could
// decide it. Its writes go through collection, so inside a unit of work
// they are journalled and undone with the unit: a link made, or a user's
// links deleted, with the user goes back with the user.
//
// The store keeps links of any user id: the caller deletes a user's links
// (DeleteUserIdentities) with the user.
type LinkedIdentityStore struct{ coll *collection }

// NewLinkedIdentityStore returns a LinkedIdentityStore on db.
func NewLinkedIdentityStore(db *mongo.Database) *LinkedIdentityStore {
	return &LinkedIdentityStore{coll: collectionOf(db, linkedIdentitiesCollection)}
}

// linkKey is a link's _id. A subdocument rather than the two joined in one
// string, so that no issuer and subject run together into another pair's
// key; its field order is fixed here, as _id equality needs.
type linkKey struct {
	Issuer  string `bson:"iss"`
	Subject string `bson:"sub"`
}

// linkDoc is the stored form of a domain.LinkedIdentity.
type linkDoc struct {
	Key        linkKey   `bson:"_id"`
	UserID     string    `bson:"user_id"`
	ProviderID string    `bson:"provider_id,omitempty"`
	Email      string    `bson:"email,omitempty"`
	CreatedAt  time.Time `bson:"created_at,omitempty"`
}

func (d *linkDoc) domain() domain.LinkedIdentity {
	return domain.LinkedIdentity{
		Issuer: d.Key.Issuer, Subject: d.Key.Subject, UserID: d.UserID,
		ProviderID: d.ProviderID, Email: d.Email, CreatedAt: d.CreatedAt,
	}
}

// LinkIdentity inserts a link. ErrAlreadyExists if the identity is linked
// already, to any user.
func (s *LinkedIdentityStore) LinkIdentity(ctx context.Context, l domain.LinkedIdentity) error {
	_, err := s.coll.InsertOne(ctx, &linkDoc{
		Key: linkKey{Issuer: l.Issuer, Subject: l.Subject}, UserID: l.UserID,
		ProviderID: l.ProviderID, Email: l.Email, CreatedAt: l.CreatedAt,
	})
	return translate("link identity", err)
}

// GetLinkedIdentity returns the link of (issuer, subject). ErrNotFound if
// none.
func (s *LinkedIdentityStore) GetLinkedIdentity(ctx context.Context, issuer, subject string) (domain.LinkedIdentity, error) {
	var d linkDoc
	if err := s.coll.FindOne(ctx, bson.M{"_id": linkKey{Issuer: issuer, Subject: subject}}).Decode(&d); err != nil {
		return domain.LinkedIdentity{}, translate("get linked identity", err)
	}
	return d.domain(), nil
}

// ListLinkedIdentities returns a user's links by CreatedAt, then issuer,
// then subject (byte order, MongoDB's for strings).
func (s *LinkedIdentityStore) ListLinkedIdentities(ctx context.Context, userID string) ([]domain.LinkedIdentity, error) {
	return findAll[domain.LinkedIdentity, linkDoc](ctx, s.coll, "list linked identities", bson.M{"user_id": userID},
		options.Find().SetSort(bson.D{{Key: "created_at", Value: 1}, {Key: "_id.iss", Value: 1}, {Key: "_id.sub", Value: 1}}))
}

// UnlinkIdentity deletes one link. ErrNotFound if none.
func (s *LinkedIdentityStore) UnlinkIdentity(ctx context.Context, issuer, subject string) error {
	return deleteMatching(ctx, s.coll, "unlink identity", bson.M{"_id": linkKey{Issuer: issuer, Subject: subject}})
}

// DeleteUserIdentities deletes every link of a user.
func (s *LinkedIdentityStore) DeleteUserIdentities(ctx context.Context, userID string) error {
	_, err := s.coll.DeleteMany(ctx, bson.M{"user_id": userID})
	return translate("delete user identities", err)
}
