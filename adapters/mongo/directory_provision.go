package mongo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/calimatic/calimatic-auth/core/domain"
)

// Provision runs each row on its own (see provisionRow). A row's failure is
// in its result; any other error fails the whole call.
func (s *DirectoryStore) Provision(ctx context.Context, rows []domain.ProvisionRow) ([]domain.ProvisionResult, error) {
	// Each row is its own atomic unit and costs several round trips, so
	// rows run on provisionLanes goroutines. Rows of one email share a lane
	// and keep their order, so a repeated email in one batch is "existing"
	// after the row that made it, as with the other stores.
	lanes := make([][]int, min(provisionLanes, len(rows)))
	for i := range rows {
		h := fnv.New32a()
		h.Write([]byte(domain.NormalizeEmail(rows[i].User.Email)))
		lane := int(h.Sum32() % uint32(len(lanes)))
		lanes[lane] = append(lanes[lane], i)
	}
	results := make([]domain.ProvisionResult, len(rows))
	errs := make([]error, len(lanes))
	var wg sync.WaitGroup
	for l, idx := range lanes {
		wg.Go(func() {
			for _, i := range idx {
				res, err := s.provisionRow(ctx, &rows[i])
				if err != nil {
					errs[l] = translateWrite("provision", err)
					return
				}
				results[i] = res
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

// provisionLanes is how many rows of a batch are provisioned at once.
const provisionLanes = 16

// Row failures: the result's Err, with nothing of the row written.
var (
	errUserNameTaken = fmt.Errorf("mongo: provision: another member has the user name: %w", domain.ErrAlreadyExists)
	errUserIDTaken   = fmt.Errorf("mongo: provision: the new user's id is another user's: %w", domain.ErrAlreadyExists)
)

// stepEnd is how one run of a row ended.
type stepEnd int

const (
	stepDone   stepEnd = iota // the row is provisioned
	stepFailed                // the row failed on its own (step.rowErr)
	stepAgain                 // something changed under the row: run it again
	stepWaited                // it waited for another row's claim: run it again
)

// step is one run of a row.
type step struct {
	end    stepEnd
	res    domain.ProvisionResult
	rowErr error
}

// provisionRow checks the organization before writing anything, so that a
// row for a missing organization writes nothing (the ports delete no
// organization, so the check stays true). Then it creates the user
// (createUser) or joins the one that has the email (joinUser), in the
// orders the type's comment explains, running again when a racing write
// changed what it found. Waiting for another row's claim ends in progress
// for someone, so it does not count as an attempt.
func (s *DirectoryStore) provisionRow(ctx context.Context, row *domain.ProvisionRow) (domain.ProvisionResult, error) {
	ok, err := hasDoc(ctx, s.orgs, bson.M{"_id": row.OrganizationID})
	if err != nil {
		return domain.ProvisionResult{}, err
	}
	if !ok {
		return domain.ProvisionResult{Err: translate("provision", mongo.ErrNoDocuments)}, nil
	}
	created := false // a run made row.User; a later one may join it
	for attempt := 0; attempt < upsertAttempts; {
		u, rowErr, err := s.rowUser(ctx, &row.User, created)
		if err != nil || rowErr != nil {
			return domain.ProvisionResult{Err: rowErr}, err
		}
		var st step
		if u == nil {
			st, err = s.createUser(ctx, row)
			created = created || st.res.Created
		} else {
			st, err = s.joinUser(ctx, row, u, created && u.ID == row.User.ID)
		}
		switch {
		case err != nil:
			return domain.ProvisionResult{}, err
		case st.end == stepDone:
			st.res.Created = created && st.res.User.ID == row.User.ID
			return st.res, nil
		case st.end == stepFailed:
			return domain.ProvisionResult{Err: st.rowErr}, nil
		case st.end == stepAgain:
			attempt++
		}
	}
	return domain.ProvisionResult{}, errKeepsChanging
}

// rowUser returns the user with u's email, nil if there is none. rowErr is
// the row's own failure: no one has the email but u's id is another
// user's (unless an earlier run of the row, created, made that user). One
// query answers both.
func (s *DirectoryStore) rowUser(ctx context.Context, u *domain.User, created bool) (found *domain.User, rowErr, err error) {
	key := domain.NormalizeEmail(u.Email)
	filter := bson.M{"_id": u.ID}
	if key != "" {
		filter = bson.M{"$or": bson.A{bson.M{"email_key": key}, bson.M{"_id": u.ID}}}
	}
	cur, err := s.users.Find(ctx, filter, options.Find().SetLimit(2))
	if err != nil {
		return nil, nil, err
	}
	var docs []userDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, nil, err
	}
	for i := range docs {
		if key != "" && docs[i].EmailKey == key {
			got := docs[i].domain()
			return &got, nil, nil
		}
	}
	switch {
	case len(docs) == 0:
		return nil, nil, nil
	case created:
		got := docs[0].domain()
		return &got, nil, nil
	}
	return nil, errUserIDTaken, nil
}

// createUser provisions row.User, which no one's email matched: its
// membership, active and primary, as a claim on its name; the license; then
// the user, whose insert the unique email key decides; and last the claim
// is marked done. If a racing row made a user with the email first, the
// claim and the license are deleted (they were never seen) and the row
// runs again to join that user. If the claim was broken meanwhile (the row
// stalled past claimLease), the row runs again to join the user it made.
// A row that fails before its user exists (its context ends, the server
// goes) drops its claim on the way out, so that a retry need not wait for
// the lease.
func (s *DirectoryStore) createUser(ctx context.Context, row *domain.ProvisionRow) (_ step, err error) {
	u := &row.User
	m := domain.Membership{
		OrganizationID: row.OrganizationID, UserID: u.ID, Role: row.Role, Status: domain.MembershipActive,
		Primary: true, CreatedAt: row.Now,
	}
	d := newMembershipDoc(&m)
	d.ID, d.PrimaryClaim = primitive.NewObjectID(), u.ID
	claimedAt := time.Now().UTC().Truncate(time.Millisecond) // as BSON keeps it
	d.ClaimedAt = &claimedAt
	claim := bson.M{"_id": d.ID, "claimed_at": claimedAt}
	defer func() {
		if err != nil {
			s.dropUnbornClaim(ctx, claim, u.ID, row.LicenseClientID)
		}
	}()
	switch end, err := s.insertNamed(ctx, d, rowNames(row.UserName, u.Email, u.ID)); {
	case err != nil:
		return step{}, err
	case end == nameTaken:
		return step{end: stepFailed, rowErr: errUserNameTaken}, nil
	case end == keyTaken:
		// The new id has memberships: it is, or was, another user's.
		return step{end: stepFailed, rowErr: errUserIDTaken}, nil
	case end == claimSettled:
		return step{end: stepWaited}, nil
	}
	m.UserName = d.UserName

	assigned := false
	if row.LicenseClientID != "" {
		var err error
		l := domain.License{ClientID: row.LicenseClientID, UserID: u.ID, AssignedAt: row.Now}
		if assigned, err = s.insertLicense(ctx, &l); err != nil {
			return step{}, err
		}
	}
	got, created, err := s.insertUser(ctx, u)
	if err != nil {
		return step{}, err
	}
	if !created {
		// A racing row made a user with the email, or the id is another
		// user's: the next run tells which.
		if assigned {
			if _, err := s.licenses.DeleteOne(ctx, bson.M{"user_id": u.ID, "client_id": row.LicenseClientID}); err != nil {
				return step{}, err
			}
		}
		_, err := s.memberships.DeleteOne(ctx, claim)
		return step{end: stepAgain}, err
	}
	res := domain.ProvisionResult{User: got, Created: true, Membership: m, Joined: true, LicenseAssigned: assigned}
	done, err := s.memberships.UpdateOne(ctx, claim, bson.M{"$unset": bson.M{"claimed_at": ""}})
	switch {
	case err != nil:
		return step{}, err
	case done.MatchedCount == 0:
		return step{end: stepAgain, res: res}, nil
	}
	return step{end: stepDone, res: res}, nil
}

// cleanupTimeout bounds dropUnbornClaim, which runs past the row's
// context.
const cleanupTimeout = 5 * time.Second

// dropUnbornClaim deletes a claim, and the license assigned with it, whose
// row failed, unless its user exists (the write that failed may have been
// done all the same): then it is the user's membership. It is best
// effort: a claim it leaves is broken after claimLease.
func (s *DirectoryStore) dropUnbornClaim(ctx context.Context, claim bson.M, userID, licenseClientID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if born, err := hasDoc(ctx, s.users, bson.M{"_id": userID}); err != nil || born {
		return
	}
	if licenseClientID != "" {
		_, _ = s.licenses.DeleteOne(ctx, bson.M{"user_id": userID, "client_id": licenseClientID})
	}
	_, _ = s.memberships.DeleteOne(ctx, claim)
}

// insertUser inserts u, and reports whether it did: not when its email or
// its id is taken meanwhile (the unique indexes decide, in the insert), and
// the row's next run tells which. got is the user as stored.
func (s *DirectoryStore) insertUser(ctx context.Context, u *domain.User) (got domain.User, inserted bool, err error) {
	doc := newUserDoc(u, 0)
	_, err = s.users.InsertOne(ctx, doc)
	switch {
	case isUniqueViolation(err):
		return domain.User{}, false, nil
	case err != nil:
		return domain.User{}, false, err
	}
	// What a read would return (times in UTC, to the millisecond), sharing
	// nothing with the row.
	raw, err := bson.Marshal(doc)
	if err != nil {
		return domain.User{}, false, err
	}
	var stored userDoc
	if err := bson.Unmarshal(raw, &stored); err != nil {
		return domain.User{}, false, err
	}
	return stored.domain(), true, nil
}

// joinUser provisions the row for u, who has the row's email: it ensures
// the membership (and the license), then checks that u still exists; if
// a DeleteUser removed them meanwhile, it cleans up and the row runs again
// (the email is free now). created: an earlier run of the row made u.
func (s *DirectoryStore) joinUser(ctx context.Context, row *domain.ProvisionRow, u *domain.User, created bool) (step, error) {
	j := joining{
		s: s, row: row, userID: u.ID, email: u.Email, home: u.HomeOrganizationID, verified: u.EmailVerified,
		created: created,
	}
	st, err := s.ensureMembership(ctx, &j)
	if err != nil || st.end != stepDone {
		return st, err
	}
	st.res.User, st.res.LicenseAssigned = *u, j.assigned
	if ok, err := s.userStays(ctx, u.ID); err != nil || !ok {
		return step{end: stepAgain}, err
	}
	return st, nil
}

// joining is one row's user joining the row's organization: whether the
// row may link the user (asked at most once), and the row's license,
// assigned at most once.
type joining struct {
	s        *DirectoryStore
	row      *domain.ProvisionRow
	userID   string
	email    string // the user's stored email, the membership's default name
	home     string // the user's home organization
	verified bool   // the user's email is verified
	created  bool   // the row made the user

	link, linkKnown    bool
	licensed, assigned bool
}

// mayLink reports whether the row's membership is active at once: the row
// made the user, says to link a user whose email is verified and found one,
// the user's home is one of row.VisibleIn, or
// the user has a membership other than pending in one of them (the caller
// sees the account already). The home counts on its own because a
// concurrent row that created the user writes the home membership only
// after the user.
func (j *joining) mayLink(ctx context.Context) (bool, error) {
	if j.linkKnown {
		return j.link, nil
	}
	link := j.created || j.row.LinkExisting && j.verified || j.home != "" && slices.Contains(j.row.VisibleIn, j.home)
	if !link && len(j.row.VisibleIn) > 0 {
		var err error
		link, err = hasDoc(ctx, j.s.memberships, bson.M{
			"user_id": j.userID, "organization_id": bson.M{"$in": j.row.VisibleIn}, "status": notPending,
		})
		if err != nil {
			return false, err
		}
	}
	j.link, j.linkKnown = link, true
	return link, nil
}

// license assigns the row's license, if it names one; only the first call
// writes.
func (j *joining) license(ctx context.Context) error {
	if j.licensed || j.row.LicenseClientID == "" {
		return nil
	}
	l := domain.License{ClientID: j.row.LicenseClientID, UserID: j.userID, AssignedAt: j.row.Now}
	assigned, err := j.s.insertLicense(ctx, &l)
	if err != nil {
		return err
	}
	j.licensed, j.assigned = true, assigned
	return nil
}

// ensureMembership ensures the user's membership in the row's organization;
// the step's result holds it, and whether this row inserted it (Joined). A
// missing one is inserted pending, named as the row says (rowNames): that
// decides the name, and a row whose name another member has fails there,
// having written nothing. An existing one keeps its name, role and status,
// except that a pending one the row may link (j.mayLink) is activated, on
// the condition that it is still pending; the one this row inserted is
// then activated at once. The license is assigned when the membership is,
// or is about to become, visible: before the write that makes it so, so
// that a member is never seen without it.
//
// A membership that becomes active is primary when the user has no
// primary membership. Two racing activations of one user's memberships
// (in two organizations) would both see none; the primary one carries
// primary_claim, unique per user, so only one of them is written as
// primary and the other, failing, looks again and is written as
// secondary. A membership written meanwhile by
// OrganizationStore.PutMembership, which sets Primary as its caller says,
// is not covered: that caller decides primary itself.
func (s *DirectoryStore) ensureMembership(ctx context.Context, j *joining) (step, error) {
	key := membershipKey(j.row.OrganizationID, j.userID)
	joined := false
	done := func(m domain.Membership) step {
		return step{end: stepDone, res: domain.ProvisionResult{Membership: m, Joined: joined}}
	}
	for range upsertAttempts {
		var d membershipDoc
		err := s.memberships.FindOne(ctx, key).Decode(&d)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return step{}, err
		}
		found := err == nil
		if found && d.domain().Visible() {
			return done(d.domain()), j.license(ctx)
		}
		link, err := j.mayLink(ctx)
		if err != nil {
			return step{}, err
		}
		if found && !link {
			return done(d.domain()), nil
		}
		if !found {
			d = *newMembershipDoc(&domain.Membership{
				OrganizationID: j.row.OrganizationID, UserID: j.userID, Role: j.row.Role,
				Status: domain.MembershipPending, CreatedAt: j.row.Now,
			})
			switch end, err := s.insertNamed(ctx, &d, rowNames(j.row.UserName, j.email, j.userID)); {
			case err != nil:
				return step{}, err
			case end == nameTaken:
				return step{end: stepFailed, rowErr: errUserNameTaken}, nil
			case end == claimSettled:
				return step{end: stepWaited}, nil
			case end == keyTaken:
				continue // a racing row inserted this membership: look again
			}
			joined = true
			if !link {
				return done(d.domain()), nil
			}
		}
		m := d.domain()
		if err := j.license(ctx); err != nil {
			return step{}, err
		}
		hasPrimary, err := hasDoc(ctx, s.memberships, bson.M{"user_id": j.userID, "primary": true})
		if err != nil {
			return step{}, err
		}
		m.Status, m.Primary = domain.MembershipActive, !hasPrimary
		ok, err := s.activate(ctx, &m)
		if err != nil {
			return step{}, err
		}
		if ok {
			return done(m), nil
		}
		// A racing row activated this membership, or another membership
		// took the primary claim: look again.
	}
	return step{}, errKeepsChanging
}

// rowNames are the names a row's new membership takes, the first one no
// other member has: the row's UserName, or by default the user's email,
// then the user id.
func rowNames(userName, email, userID string) []string {
	switch {
	case userName != "":
		return []string{userName}
	case email == "":
		return []string{""}
	}
	return []string{email, userID}
}

// insertEnd is how insertNamed ended.
type insertEnd int

const (
	inserted     insertEnd = iota
	nameTaken              // every name is another member's
	keyTaken               // another unique key is: the membership exists, or its primary claim is taken
	claimSettled           // it waited for another row's claim on the name: look again
)

// insertNamed inserts d under the first of names that no other member has.
// A name held by another row's claim whose user does not exist yet is
// neither free nor taken: it waits for the claim to settle (awaitClaim).
func (s *DirectoryStore) insertNamed(ctx context.Context, d *membershipDoc, names []string) (insertEnd, error) {
	for _, name := range names {
		d.setUserName(name)
		end, err := s.insertAs(ctx, d)
		if err != nil || end != nameTaken {
			return end, err
		}
	}
	return nameTaken, nil
}

// insertAs inserts d under its name. FerretDB does not say which unique
// index refused an insert, so after a refusal it asks: this membership
// first (it exists, or its primary claim is taken, whatever the name),
// then the name's holder. A holder that went between the two is another
// try.
func (s *DirectoryStore) insertAs(ctx context.Context, d *membershipDoc) (insertEnd, error) {
	for range upsertAttempts {
		_, err := s.memberships.InsertOne(ctx, d)
		if err == nil {
			return inserted, nil
		}
		if !isUniqueViolation(err) {
			return 0, err
		}
		exists, err := hasDoc(ctx, s.memberships, membershipKey(d.OrganizationID, d.UserID))
		if err != nil || exists || d.UserNameKey == "" {
			return keyTaken, err
		}
		var holder membershipDoc
		err = s.memberships.FindOne(ctx, bson.M{"user_name_key": d.UserNameKey}).Decode(&holder)
		switch {
		case errors.Is(err, mongo.ErrNoDocuments):
			continue
		case err != nil:
			return 0, err
		case holder.UserID == d.UserID:
			return keyTaken, nil // this membership, inserted meanwhile
		case holder.ClaimedAt == nil:
			return nameTaken, nil
		}
		born, err := hasDoc(ctx, s.users, bson.M{"_id": holder.UserID})
		if err != nil || born {
			return nameTaken, err
		}
		return claimSettled, s.awaitClaim(ctx, &holder)
	}
	return 0, errKeepsChanging
}

// awaitClaim waits until another row's claim settles: its user appears, the
// claim goes (its row found the email taken, or a DeleteUser removed it),
// or it is older than claimLease, by the adapter's clock: its row stopped
// between the claim and the user, and the claim is deleted. A row that
// stalled that long and then made its user finds its claim gone and joins
// the user again (see createUser).
func (s *DirectoryStore) awaitClaim(ctx context.Context, c *membershipDoc) error {
	claim := bson.M{"_id": c.ID, "claimed_at": *c.ClaimedAt}
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		if time.Since(*c.ClaimedAt) > claimLease {
			_, err := s.memberships.DeleteOne(ctx, claim)
			return err
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return err
		}
		if ok, err := hasDoc(ctx, s.memberships, claim); err != nil || !ok {
			return err
		}
		if born, err := hasDoc(ctx, s.users, bson.M{"_id": c.UserID}); err != nil || born {
			return err
		}
	}
}

// activate makes the pending membership m as m says, on the condition that
// it is still pending; false when a racing write got there first.
func (s *DirectoryStore) activate(ctx context.Context, m *domain.Membership) (bool, error) {
	filter := membershipKey(m.OrganizationID, m.UserID)
	filter["status"] = string(domain.MembershipPending)
	set := bson.M{"status": string(m.Status), "primary": m.Primary}
	if m.Primary {
		set["primary_claim"] = m.UserID
	}
	res, err := s.memberships.UpdateOne(ctx, filter, bson.M{"$set": set})
	if err == nil {
		return res.MatchedCount == 1, nil
	}
	if !isUniqueViolation(err) || !m.Primary {
		return false, err
	}
	// The claim may be a stale one, left by an older version on a
	// membership that is no longer primary: no primary membership holds
	// it, so it claims nothing. Drop it for the next attempt.
	_, err = s.memberships.UpdateMany(ctx, bson.M{"primary_claim": m.UserID, "primary": false},
		bson.M{"$unset": bson.M{"primary_claim": ""}})
	return false, err
}
