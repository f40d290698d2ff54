package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var (
	_ ports.ClientGrantStore = (*ClientGrantStore)(nil)
	_ ports.RoleStore        = (*RoleStore)(nil)
)

const (
	clientGrantsCollection = "client_grants"
	rolesCollection        = "roles"
)

func init() {
	// Natural keys; each also serves its list, which reads by the first
	// field in the order of the second.
	registerIndexes(clientGrantsCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "client_id", Value: 1}, {Key: "organization_id", Value: 1}},
		Options: options.Index().SetName("client_grants_client_organization").SetUnique(true),
	}, mongo.IndexModel{
		// The grants on an organization, by client (ListOrganizationGrants).
		Keys:    bson.D{{Key: "organization_id", Value: 1}, {Key: "client_id", Value: 1}},
		Options: options.Index().SetName("client_grants_organization_client"),
	})
	registerIndexes(rolesCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "organization_id", Value: 1}, {Key: "name", Value: 1}},
		Options: options.Index().SetName("roles_organization_name").SetUnique(true),
	})
}

// putKeepingCreated creates or replaces the document with key in one
// upsert that writes set always and created_at only on insert, so a
// replacement keeps its creation time. The organization is checked first:
// the ports delete no organization, so the check stays true.
func putKeepingCreated(ctx context.Context, orgs, coll *collection, op, organizationID string,
	key, set bson.M, createdAt time.Time,
) error {
	if err := requireOrganization(ctx, orgs, op, organizationID); err != nil {
		return err
	}
	update := bson.M{"$set": set, "$setOnInsert": bson.M{"created_at": createdAt}}
	for range upsertAttempts {
		_, err := coll.UpdateOne(ctx, key, update, options.Update().SetUpsert(true))
		if !isUniqueViolation(err) {
			return translate(op, err)
		}
		// A racing upsert inserted it first (FerretDB reports the race
		// where MongoDB retries): now it matches.
	}
	return translate(op, errKeepsChanging)
}

// deleteMatching deletes the document matching filter; ErrNotFound if none.
func deleteMatching(ctx context.Context, coll *collection, op string, filter bson.M) error {
	res, err := coll.DeleteOne(ctx, filter)
	if err != nil {
		return translate(op, err)
	}
	if res.DeletedCount == 0 {
		return translate(op, mongo.ErrNoDocuments)
	}
	return nil
}

// ClientGrantStore is the MongoDB ports.ClientGrantStore: one document per
// grant, unique on (client_id, organization_id).
type ClientGrantStore struct{ orgs, grants *collection }

// NewClientGrantStore returns a ClientGrantStore on db.
func NewClientGrantStore(db *mongo.Database) *ClientGrantStore {
	return &ClientGrantStore{orgs: collectionOf(db, organizationsCollection), grants: collectionOf(db, clientGrantsCollection)}
}

// clientGrantDoc is the stored form of a domain.ClientGrant; its _id is the
// server's ObjectID.
type clientGrantDoc struct {
	ClientID       string    `bson:"client_id"`
	OrganizationID string    `bson:"organization_id"`
	Actions        []string  `bson:"actions"`
	CreatedAt      time.Time `bson:"created_at"`
	UpdatedAt      time.Time `bson:"updated_at"`
}

func (d *clientGrantDoc) domain() domain.ClientGrant {
	return domain.ClientGrant{
		ClientID: d.ClientID, OrganizationID: d.OrganizationID, Actions: d.Actions,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

// PutClientGrant creates or replaces the grant in one upsert that keeps
// created_at on a replacement. ErrNotFound if the organization does not
// exist.
func (s *ClientGrantStore) PutClientGrant(ctx context.Context, g domain.ClientGrant) error {
	return putKeepingCreated(ctx, s.orgs, s.grants, "put client grant", g.OrganizationID,
		bson.M{"client_id": g.ClientID, "organization_id": g.OrganizationID},
		bson.M{"actions": g.Actions, "updated_at": g.UpdatedAt}, g.CreatedAt)
}

// DeleteClientGrant removes a grant. ErrNotFound if there is none.
func (s *ClientGrantStore) DeleteClientGrant(ctx context.Context, clientID, organizationID string) error {
	return deleteMatching(ctx, s.grants, "delete client grant", bson.M{"client_id": clientID, "organization_id": organizationID})
}

// ListClientGrants returns a client's grants ordered by organization id.
func (s *ClientGrantStore) ListClientGrants(ctx context.Context, clientID string) ([]domain.ClientGrant, error) {
	return findAll[domain.ClientGrant, clientGrantDoc](ctx, s.grants, "list client grants", bson.M{"client_id": clientID},
		options.Find().SetSort(bson.D{{Key: "organization_id", Value: 1}}))
}

// ListOrganizationGrants returns the grants on an organization ordered by
// client id.
func (s *ClientGrantStore) ListOrganizationGrants(ctx context.Context, organizationID string) ([]domain.ClientGrant, error) {
	return findAll[domain.ClientGrant, clientGrantDoc](ctx, s.grants, "list organization grants", bson.M{"organization_id": organizationID},
		options.Find().SetSort(bson.D{{Key: "client_id", Value: 1}}))
}

// RoleStore is the MongoDB ports.RoleStore: one document per stored role,
// unique on (organization_id, name). The built-in defaults are the core's
// (domain.BuiltInRoles).
type RoleStore struct{ orgs, roles *collection }

// NewRoleStore returns a RoleStore on db.
func NewRoleStore(db *mongo.Database) *RoleStore {
	return &RoleStore{orgs: collectionOf(db, organizationsCollection), roles: collectionOf(db, rolesCollection)}
}

// roleDoc is the stored form of a domain.Role; its _id is the server's
// ObjectID.
type roleDoc struct {
	OrganizationID string    `bson:"organization_id"`
	Name           string    `bson:"name"`
	Permissions    []string  `bson:"permissions"`
	CreatedAt      time.Time `bson:"created_at"`
	UpdatedAt      time.Time `bson:"updated_at"`
}

func (d *roleDoc) domain() domain.Role {
	return domain.Role{
		OrganizationID: d.OrganizationID, Name: d.Name, Permissions: d.Permissions,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

func roleKey(organizationID, name string) bson.M {
	return bson.M{"organization_id": organizationID, "name": name}
}

// PutRole creates or replaces a role in one upsert that keeps created_at on
// a replacement. ErrNotFound if the organization does not exist.
func (s *RoleStore) PutRole(ctx context.Context, r domain.Role) error {
	return putKeepingCreated(ctx, s.orgs, s.roles, "put role", r.OrganizationID, roleKey(r.OrganizationID, r.Name),
		bson.M{"permissions": r.Permissions, "updated_at": r.UpdatedAt}, r.CreatedAt)
}

// GetRole returns a stored role. ErrNotFound if the organization stores
// none of that name.
func (s *RoleStore) GetRole(ctx context.Context, organizationID, name string) (domain.Role, error) {
	var d roleDoc
	if err := s.roles.FindOne(ctx, roleKey(organizationID, name)).Decode(&d); err != nil {
		return domain.Role{}, translate("get role", err)
	}
	return d.domain(), nil
}

// DeleteRole removes a stored role. ErrNotFound if there is none.
func (s *RoleStore) DeleteRole(ctx context.Context, organizationID, name string) error {
	return deleteMatching(ctx, s.roles, "delete role", roleKey(organizationID, name))
}

// ListRoles returns an organization's stored roles ordered by name.
func (s *RoleStore) ListRoles(ctx context.Context, organizationID string) ([]domain.Role, error) {
	return findAll[domain.Role, roleDoc](ctx, s.roles, "list roles", bson.M{"organization_id": organizationID},
		options.Find().SetSort(bson.D{{Key: "name", Value: 1}}))
}
