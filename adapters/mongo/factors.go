package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/ports"
)

var _ ports.FactorStore = (*FactorStore)(nil)

const factorsCollection = "user_factors"

// FactorStore is the MongoDB ports.FactorStore: one document per user,
// keyed by the user id, made by the user's first update. Its writes go
// through collection, so inside a unit of work they are journalled and
// undone with the unit.
//
// An update is updateByRev's compare-and-swap on the document's revision,
// which holds on FerretDB too (a claim insert decides each revision); the
// first update of a user inserts the document, and the unique _id lets
// exactly one of racing first updates do so: the others find the document
// and update it as any update does. So every "one after the other" of the
// port is decided by an insert, as in ReplayCache.
//
// The TOTP secrets are sealed at rest (see sealer), bound to the user id
// and to which secret they are: the confirmed one and the pending one are
// sealed for different purposes, so neither opens in the other's place,
// nor in another user's document.
//
// The store keeps factors of any user id: the caller deletes a user's
// factors (DeleteFactors) with the user.
type FactorStore struct {
	coll *collection
	box  sealer
}

// NewFactorStore returns a FactorStore on db that seals TOTP secrets under
// keyEncryptionKey (KeyEncryptionKeySize bytes).
func NewFactorStore(db *mongo.Database, keyEncryptionKey []byte) (*FactorStore, error) {
	box, err := newSealer(keyEncryptionKey)
	if err != nil {
		return nil, err
	}
	return &FactorStore{coll: collectionOf(db, factorsCollection), box: box}, nil
}

// factorsDoc is the stored form of a domain.Factors. Rev counts the
// writes, for updateByRev. An absent field is none: no authenticator, no
// codes, no passkeys, no ceremony.
type factorsDoc struct {
	UserID          string            `bson:"_id"`
	Rev             int64             `bson:"rev"`
	TOTP            *totpDoc          `bson:"totp,omitempty"`
	PendingTOTP     *totpDoc          `bson:"pending_totp,omitempty"`
	PendingOwner    string            `bson:"pending_totp_owner,omitempty"`
	RecoveryCodes   []recoveryCodeDoc `bson:"recovery_codes,omitempty"`
	Passkeys        []passkeyDoc      `bson:"passkeys,omitempty"`
	Ceremony        []byte            `bson:"ceremony,omitempty"`
	CeremonyExpires time.Time         `bson:"ceremony_expires,omitempty"`
	UpdatedAt       time.Time         `bson:"updated_at,omitempty"`
}

func (d *factorsDoc) revision() int64 { return d.Rev }

// totpDoc is the stored form of a domain.TOTP, its secret sealed.
type totpDoc struct {
	Sealed    []byte    `bson:"sealed_secret"`
	LastStep  int64     `bson:"last_step"`
	CreatedAt time.Time `bson:"created_at,omitempty"`
}

// recoveryCodeDoc is the stored form of a domain.RecoveryCode: its fields,
// in its order, so that each converts to the other (and a field added to
// one fails the build until the other has it).
type recoveryCodeDoc struct {
	Hash   []byte    `bson:"hash"`
	UsedAt time.Time `bson:"used_at,omitempty"`
}

// passkeyDoc is the stored form of a domain.Passkey, converted as
// recoveryCodeDoc is.
type passkeyDoc struct {
	ID              []byte    `bson:"id"`
	Name            string    `bson:"name,omitempty"`
	PublicKey       []byte    `bson:"public_key"`
	AttestationType string    `bson:"attestation_type,omitempty"`
	AAGUID          []byte    `bson:"aaguid,omitempty"`
	SignCount       uint32    `bson:"sign_count,omitempty"`
	BackupEligible  bool      `bson:"backup_eligible,omitempty"`
	BackupState     bool      `bson:"backup_state,omitempty"`
	Transports      []string  `bson:"transports,omitempty"`
	CreatedAt       time.Time `bson:"created_at,omitempty"`
	LastUsedAt      time.Time `bson:"last_used_at,omitempty"`
}

// newDoc returns f's stored form at revision rev, its secrets sealed.
func (s *FactorStore) newDoc(f *domain.Factors, rev int64) (*factorsDoc, error) {
	d := &factorsDoc{UserID: f.UserID, Rev: rev, Ceremony: f.Ceremony, PendingOwner: f.PendingTOTPOwner,
		CeremonyExpires: f.CeremonyExpires, UpdatedAt: f.UpdatedAt}
	var err error
	if d.TOTP, err = s.sealTOTP(purposeTOTPSecret, f.UserID, f.TOTP); err != nil {
		return nil, err
	}
	if d.PendingTOTP, err = s.sealTOTP(purposePendingTOTPSecret, f.UserID, f.PendingTOTP); err != nil {
		return nil, err
	}
	for _, c := range f.RecoveryCodes {
		d.RecoveryCodes = append(d.RecoveryCodes, recoveryCodeDoc(c))
	}
	for _, p := range f.Passkeys {
		d.Passkeys = append(d.Passkeys, passkeyDoc(p))
	}
	return d, nil
}

// factors opens and decodes the document.
func (s *FactorStore) factors(d *factorsDoc) (domain.Factors, error) {
	f := domain.Factors{UserID: d.UserID, Ceremony: d.Ceremony, PendingTOTPOwner: d.PendingOwner,
		CeremonyExpires: d.CeremonyExpires, UpdatedAt: d.UpdatedAt}
	var err error
	if f.TOTP, err = s.openTOTP(purposeTOTPSecret, d.UserID, d.TOTP); err != nil {
		return domain.Factors{}, err
	}
	if f.PendingTOTP, err = s.openTOTP(purposePendingTOTPSecret, d.UserID, d.PendingTOTP); err != nil {
		return domain.Factors{}, err
	}
	for _, c := range d.RecoveryCodes {
		f.RecoveryCodes = append(f.RecoveryCodes, domain.RecoveryCode(c))
	}
	for _, p := range d.Passkeys {
		f.Passkeys = append(f.Passkeys, domain.Passkey(p))
	}
	return f, nil
}

func (s *FactorStore) sealTOTP(purpose, userID string, t *domain.TOTP) (*totpDoc, error) {
	if t == nil {
		return nil, nil
	}
	sealed, err := s.box.seal(purpose, userID, t.Secret)
	if err != nil {
		return nil, err
	}
	return &totpDoc{Sealed: sealed, LastStep: t.LastStep, CreatedAt: t.CreatedAt}, nil
}

// openTOTP is sealTOTP's inverse; a secret not sealed for purpose and
// userID under this key fails with ErrFactorDecryption.
func (s *FactorStore) openTOTP(purpose, userID string, d *totpDoc) (*domain.TOTP, error) {
	if d == nil {
		return nil, nil
	}
	secret, err := s.box.open(purpose, userID, d.Sealed, ErrFactorDecryption)
	if err != nil {
		return nil, err
	}
	return &domain.TOTP{Secret: secret, LastStep: d.LastStep, CreatedAt: d.CreatedAt}, nil
}

// GetFactors returns a user's factors; Factors{UserID: userID} if the user
// has no document.
func (s *FactorStore) GetFactors(ctx context.Context, userID string) (domain.Factors, error) {
	var d factorsDoc
	err := s.coll.FindOne(ctx, bson.M{"_id": userID}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return domain.Factors{UserID: userID}, nil
	}
	if err != nil {
		return domain.Factors{}, translate("get factors", err)
	}
	f, err := s.factors(&d)
	if err != nil {
		return domain.Factors{}, translate("get factors", err)
	}
	return f, nil
}

// callbackError marks an error of UpdateFactors' callback, so that it is
// told from updateByRev's own (ErrNotFound for a missing document above
// all) and returned as it is.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }
func (e callbackError) Unwrap() error { return e.err }

// UpdateFactors applies fn to the user's document with updateByRev, or,
// when the user has none, to an empty record that it then inserts: of
// racing first updates one inserts, and the others, refused by the unique
// _id, start again and update that document. fn may run more than once,
// each time on the factors as stored then. The secrets are sealed anew (a
// fresh nonce) on every write.
func (s *FactorStore) UpdateFactors(ctx context.Context, userID string, fn func(*domain.Factors) error) (domain.Factors, error) {
	const op = "update factors"
	for {
		f, err := s.update(ctx, userID, fn)
		var cb callbackError
		switch {
		case errors.As(err, &cb):
			return domain.Factors{}, cb.err
		case err == nil:
			return f.Clone(), nil
		case !errors.Is(err, domain.ErrNotFound):
			return domain.Factors{}, err // translated by update
		}
		f = domain.Factors{UserID: userID}
		if err := fn(&f); err != nil {
			return domain.Factors{}, err
		}
		f.UserID = userID // the user id is the key; fn cannot move the record
		d, err := s.newDoc(&f, 0)
		if err != nil {
			return domain.Factors{}, translate(op, err)
		}
		_, err = s.coll.InsertOne(ctx, d)
		switch {
		case err == nil:
			return f.Clone(), nil
		case !isUniqueViolation(err):
			return domain.Factors{}, translate(op, err)
		}
		// Another first update inserted the document: update it.
		if err := ctx.Err(); err != nil {
			return domain.Factors{}, translate(op, err)
		}
	}
}

// update is UpdateFactors on an existing document: ErrNotFound (wrapped)
// when there is none, fn's error as a callbackError, and every other error
// translated. A document that does not open fails before fn runs.
func (s *FactorStore) update(ctx context.Context, userID string, fn func(*domain.Factors) error) (domain.Factors, error) {
	const op = "update factors"
	var (
		openErr error
		next    *factorsDoc
	)
	return updateByRev(ctx, s.coll, op, userID,
		func(d *factorsDoc) domain.Factors {
			f, err := s.factors(d)
			openErr = err
			return f
		},
		func(_ *domain.Factors, rev int64) any {
			next.Rev = rev
			return next
		},
		// The document is opened and sealed here, in the callback
		// updateByRev runs between its read and its write, so that an
		// error of either stops the write.
		func(f *domain.Factors) error {
			if openErr != nil {
				return translate(op, openErr)
			}
			if err := fn(f); err != nil {
				return callbackError{err}
			}
			f.UserID = userID // the user id is the key; fn cannot move the record
			var err error
			next, err = s.newDoc(f, 0)
			return translate(op, err)
		})
}

// DeleteFactors deletes the user's document, if there is one.
func (s *FactorStore) DeleteFactors(ctx context.Context, userID string) error {
	_, err := s.coll.DeleteOne(ctx, bson.M{"_id": userID})
	return translate("delete factors", err)
}
