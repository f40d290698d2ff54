package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.DomainStore = (*DomainStore)(nil)

const domainsCollection = "verified_domains"

func init() {
	// ListDomains: an organization's domains in name order.
	registerIndexes(domainsCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "organization_id", Value: 1}, {Key: "_id", Value: 1}},
		Options: options.Index().SetName("verified_domains_organization"),
	})
}

// DomainStore is the MongoDB ports.DomainStore: one document per verified
// domain, keyed by the domain name, so that the unique _id decides which
// organization has it.
type DomainStore struct {
	domains, orgs *collection
}

// NewDomainStore returns a DomainStore on db.
func NewDomainStore(db *mongo.Database) *DomainStore {
	return &DomainStore{
		domains: collectionOf(db, domainsCollection),
		orgs:    collectionOf(db, organizationsCollection),
	}
}

// domainDoc is the stored form of a domain.VerifiedDomain.
type domainDoc struct {
	Domain         string    `bson:"_id"`
	OrganizationID string    `bson:"organization_id"`
	VerifiedBy     string    `bson:"verified_by"`
	CreatedAt      time.Time `bson:"created_at"`
}

func (d *domainDoc) domain() domain.VerifiedDomain {
	return domain.VerifiedDomain{
		Domain: d.Domain, OrganizationID: d.OrganizationID, VerifiedBy: d.VerifiedBy, CreatedAt: d.CreatedAt.UTC(),
	}
}

// PutDomain records a verified domain. ErrNotFound if the organization does
// not exist (the ports delete no organization, so the check stays true).
//
// A new domain is an insert, whose unique _id lets exactly one of racing
// organizations have it: FerretDB 1.24 makes no conditional update
// atomic, so no upsert could decide that. A domain that is there already
// is refused with ErrAlreadyExists if another organization has it; if the
// organization has it, its verifier is updated on the condition that it
// still does, keeping CreatedAt. A domain deleted between the insert and
// the update is inserted again.
func (s *DomainStore) PutDomain(ctx context.Context, d domain.VerifiedDomain) (domain.VerifiedDomain, error) {
	const op = "put domain"
	if err := requireOrganization(ctx, s.orgs, op, d.OrganizationID); err != nil {
		return domain.VerifiedDomain{}, err
	}
	doc := domainDoc{Domain: d.Domain, OrganizationID: d.OrganizationID, VerifiedBy: d.VerifiedBy, CreatedAt: d.CreatedAt}
	for range upsertAttempts {
		_, err := s.domains.InsertOne(ctx, &doc)
		if err == nil {
			return doc.domain(), nil
		}
		if !isUniqueViolation(err) {
			return domain.VerifiedDomain{}, translate(op, err)
		}
		var got domainDoc
		err = s.domains.FindOneAndUpdate(ctx,
			bson.M{"_id": d.Domain, "organization_id": d.OrganizationID},
			bson.M{"$set": bson.M{"verified_by": d.VerifiedBy}},
			options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&got)
		if err == nil {
			return got.domain(), nil
		}
		if !errors.Is(err, mongo.ErrNoDocuments) {
			return domain.VerifiedDomain{}, translate(op, err)
		}
		taken, err := hasDoc(ctx, s.domains, bson.M{"_id": d.Domain})
		if err != nil {
			return domain.VerifiedDomain{}, translate(op, err)
		}
		if taken {
			return domain.VerifiedDomain{}, translate(op, domain.ErrAlreadyExists)
		}
		// Deleted since the insert failed: try again.
	}
	return domain.VerifiedDomain{}, translate(op, errKeepsChanging)
}

// GetDomain returns a verified domain by name. ErrNotFound if none.
func (s *DomainStore) GetDomain(ctx context.Context, name string) (domain.VerifiedDomain, error) {
	var d domainDoc
	if err := s.domains.FindOne(ctx, bson.M{"_id": name}).Decode(&d); err != nil {
		return domain.VerifiedDomain{}, translate("get domain", err)
	}
	return d.domain(), nil
}

// ListDomains returns an organization's domains ordered by name.
func (s *DomainStore) ListDomains(ctx context.Context, organizationID string) ([]domain.VerifiedDomain, error) {
	return findAll[domain.VerifiedDomain, domainDoc](ctx, s.domains, "list domains",
		bson.M{"organization_id": organizationID}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
}

// DeleteDomain removes one of an organization's domains. ErrNotFound if the
// organization has no such domain.
func (s *DomainStore) DeleteDomain(ctx context.Context, organizationID, name string) error {
	return deleteMatching(ctx, s.domains, "delete domain", bson.M{"_id": name, "organization_id": organizationID})
}
