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

var _ ports.UserStore = (*UserStore)(nil)

const usersCollection = "users"

func init() {
	// The email key is unique among the users that have one. FerretDB 1.24
	// has no partial indexes, so instead of a partialFilterExpression the
	// index is sparse and a user without an email stores no email_key field
	// at all (a plain unique index would make all of them collide on null
	// on MongoDB).
	registerIndexes(usersCollection, mongo.IndexModel{
		Keys:    bson.D{{Key: "email_key", Value: 1}},
		Options: options.Index().SetName("users_email_key").SetUnique(true).SetSparse(true),
	})
}

// UserStore is the MongoDB ports.UserStore: one document per user, keyed by
// the user id. Email uniqueness is the unique index on the normalised email
// (email_key), so the check and the insert are one atomic step.
type UserStore struct{ coll *mongo.Collection }

// NewUserStore returns a UserStore on db.
func NewUserStore(db *mongo.Database) *UserStore {
	return &UserStore{coll: db.Collection(usersCollection)}
}

// userDoc is the stored form of a domain.User. Rev counts the writes, for
// UpdateUser's compare-and-swap.
type userDoc struct {
	ID    string `bson:"_id"`
	Rev   int64  `bson:"rev"`
	Email string `bson:"email"`
	// EmailKey is domain.NormalizeEmail(Email), absent when that is empty
	// (see the sparse index in init).
	EmailKey            string    `bson:"email_key,omitempty"`
	EmailVerified       bool      `bson:"email_verified"`
	GivenName           string    `bson:"given_name"`
	FamilyName          string    `bson:"family_name"`
	Picture             string    `bson:"picture"`
	PhoneNumber         string    `bson:"phone_number"`
	PhoneNumberVerified bool      `bson:"phone_number_verified"`
	PasswordHash        string    `bson:"password_hash"`
	Status              string    `bson:"status"`
	NotBefore           time.Time `bson:"not_before"`
	CreatedAt           time.Time `bson:"created_at"`
	UpdatedAt           time.Time `bson:"updated_at"`
}

func newUserDoc(u *domain.User, rev int64) *userDoc {
	return &userDoc{
		ID: u.ID, Rev: rev, Email: u.Email, EmailKey: domain.NormalizeEmail(u.Email),
		EmailVerified: u.EmailVerified, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Picture: u.Picture, PhoneNumber: u.PhoneNumber, PhoneNumberVerified: u.PhoneNumberVerified,
		PasswordHash: u.PasswordHash, Status: string(u.Status), NotBefore: u.NotBefore,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

func (d *userDoc) domain() domain.User {
	return domain.User{
		ID: d.ID, Email: d.Email, EmailVerified: d.EmailVerified, GivenName: d.GivenName,
		FamilyName: d.FamilyName, Picture: d.Picture, PhoneNumber: d.PhoneNumber,
		PhoneNumberVerified: d.PhoneNumberVerified, PasswordHash: d.PasswordHash,
		Status: domain.UserStatus(d.Status), NotBefore: d.NotBefore, CreatedAt: d.CreatedAt,
		UpdatedAt: d.UpdatedAt,
	}
}

func (d *userDoc) revision() int64 { return d.Rev }

// CreateUser stores a new user. ErrAlreadyExists if the id or the email is
// taken: the unique indexes on _id and email_key decide, in the insert.
func (s *UserStore) CreateUser(ctx context.Context, u domain.User) error {
	_, err := s.coll.InsertOne(ctx, newUserDoc(&u, 0))
	return translate("create user", err)
}

// GetUser returns a user by id. ErrNotFound if there is none.
func (s *UserStore) GetUser(ctx context.Context, id string) (domain.User, error) {
	var d userDoc
	if err := s.coll.FindOne(ctx, bson.M{"_id": id}).Decode(&d); err != nil {
		return domain.User{}, translate("get user", err)
	}
	return d.domain(), nil
}

// GetUserByEmail returns the user with this email, compared
// case-insensitively through the normalised key.
func (s *UserStore) GetUserByEmail(ctx context.Context, email string) (domain.User, error) {
	key := domain.NormalizeEmail(email)
	if key == "" {
		return domain.User{}, translate("get user by email", mongo.ErrNoDocuments)
	}
	var d userDoc
	if err := s.coll.FindOne(ctx, bson.M{"email_key": key}).Decode(&d); err != nil {
		return domain.User{}, translate("get user by email", err)
	}
	return d.domain(), nil
}

// UpdateUser applies fn to the stored user and writes the result with a
// compare-and-swap on its revision (see updateByRev). A change to a taken
// email fails on the unique index, writing nothing.
func (s *UserStore) UpdateUser(ctx context.Context, id string, fn func(*domain.User) error) (domain.User, error) {
	return updateByRev(ctx, s.coll, "update user", id,
		func(d *userDoc) domain.User { return d.domain() },
		func(u *domain.User, rev int64) any {
			u.ID = id // the id is the key; fn cannot move the record
			return newUserDoc(u, rev)
		}, fn)
}
