package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"

	"github.com/calimatic/calimatic-auth/core/domain"
)

const (
	authCodesCollection           = "auth_codes"
	authCodeRedemptionsCollection = "auth_code_redemptions"
)

func init() {
	registerIndexes(authCodesCollection, expiresAtIndex())
	registerIndexes(authCodeRedemptionsCollection, expiresAtIndex())
}

// authCodeDoc is an authorization code; _id is the code's hash. It is never
// changed once inserted: whether it was redeemed is the existence of its
// authCodeRedemptionDoc.
type authCodeDoc struct {
	Hash                []byte    `bson:"_id"`
	ClientID            string    `bson:"client_id"`
	UserID              string    `bson:"user_id"`
	RedirectURI         string    `bson:"redirect_uri"`
	Scopes              []string  `bson:"scopes"`
	Nonce               string    `bson:"nonce,omitempty"`
	CodeChallenge       string    `bson:"code_challenge,omitempty"`
	CodeChallengeMethod string    `bson:"code_challenge_method,omitempty"`
	AuthTime            time.Time `bson:"auth_time,omitempty"`
	SessionID           string    `bson:"session_id,omitempty"`
	AMR                 []string  `bson:"amr"`
	GrantID             string    `bson:"grant_id"`
	DPoPJKT             string    `bson:"dpop_jkt,omitempty"`
	Claims              string    `bson:"claims,omitempty"`
	ExpiresAt           time.Time `bson:"expires_at"`
	CreatedAt           time.Time `bson:"created_at"`
}

// authCodeRedemptionDoc records that the code with hash _id was redeemed. It
// carries the code's expiry so both go at the same sweep.
type authCodeRedemptionDoc struct {
	Hash       []byte    `bson:"_id"`
	RedeemedAt time.Time `bson:"redeemed_at"`
	ExpiresAt  time.Time `bson:"expires_at"`
}

func newAuthCodeDoc(c *domain.AuthCode) *authCodeDoc {
	return &authCodeDoc{
		Hash: c.Hash, ClientID: c.ClientID, UserID: c.UserID, RedirectURI: c.RedirectURI,
		Scopes: c.Scopes, Nonce: c.Nonce, CodeChallenge: c.CodeChallenge,
		CodeChallengeMethod: c.CodeChallengeMethod, AuthTime: c.AuthTime, SessionID: c.SessionID,
		AMR: c.AMR, GrantID: c.GrantID, DPoPJKT: c.DPoPJKT, Claims: c.Claims, ExpiresAt: c.ExpiresAt, CreatedAt: c.CreatedAt,
	}
}

func (d *authCodeDoc) domain() domain.AuthCode {
	return domain.AuthCode{
		Hash: d.Hash, ClientID: d.ClientID, UserID: d.UserID, RedirectURI: d.RedirectURI,
		Scopes: d.Scopes, Nonce: d.Nonce, CodeChallenge: d.CodeChallenge,
		CodeChallengeMethod: d.CodeChallengeMethod, AuthTime: d.AuthTime, SessionID: d.SessionID,
		AMR: d.AMR, GrantID: d.GrantID, DPoPJKT: d.DPoPJKT, Claims: d.Claims, ExpiresAt: d.ExpiresAt, CreatedAt: d.CreatedAt,
	}
}

// CreateAuthCode stores a code. ErrAlreadyExists if the hash is taken. A
// new code is unredeemed: RedeemedAt is not stored.
func (s *GrantStore) CreateAuthCode(ctx context.Context, c domain.AuthCode) error {
	_, err := s.codes.InsertOne(ctx, newAuthCodeDoc(&c))
	return translate("create auth code", err)
}

// RedeemAuthCode reads the live code, then inserts its redemption: the
// unique _id lets exactly one of concurrent calls insert it, on MongoDB and
// on FerretDB alike (a findOneAndUpdate on "redeemed_at: null" is not atomic
// on FerretDB 1.24). RFC 6749 §4.1.2: codes are single use. A call whose
// insert collides reads the redemption and returns ErrAlreadyUsed with the
// code, so the caller can revoke what the first redemption issued. The
// insert is the only write, so a crash leaves the code either unredeemed or
// redeemed, never in between.
func (s *GrantStore) RedeemAuthCode(ctx context.Context, hash []byte, clientID string, now time.Time) (domain.AuthCode, error) {
	var d authCodeDoc
	live := bson.D{{Key: "_id", Value: hash}, {Key: "expires_at", Value: bson.D{{Key: "$gt", Value: now}}}}
	if err := s.codes.FindOne(ctx, live).Decode(&d); err != nil {
		return domain.AuthCode{}, translate("redeem auth code", err)
	}
	c := d.domain()
	if c.ClientID != clientID {
		return domain.AuthCode{}, translate("redeem auth code", mongo.ErrNoDocuments)
	}
	_, err := s.redemptions.InsertOne(ctx, authCodeRedemptionDoc{Hash: hash, RedeemedAt: now, ExpiresAt: d.ExpiresAt})
	if err == nil {
		c.RedeemedAt = now
		return c, nil
	}
	if !mongo.IsDuplicateKeyError(err) {
		return domain.AuthCode{}, translate("redeem auth code", err)
	}
	var r authCodeRedemptionDoc
	if err := s.redemptions.FindOne(ctx, bson.D{{Key: "_id", Value: hash}}).Decode(&r); err != nil {
		return domain.AuthCode{}, translate("redeem auth code", err)
	}
	c.RedeemedAt = r.RedeemedAt
	return c, domain.ErrAlreadyUsed
}
