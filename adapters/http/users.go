package http

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/calimatic/calimatic-auth/core/access"
	"github.com/calimatic/calimatic-auth/core/directory"
	"github.com/calimatic/calimatic-auth/core/domain"
	"github.com/calimatic/calimatic-auth/core/fault"
)

// The user management API (integration guide §4), authenticated with the
// x-client-id and x-client-secret headers.
const (
	pathProvision     = "/api/v1/users/provision"
	pathProvisionBulk = "/api/v1/users/provision/bulk"
	pathUser          = "/api/v1/users/:id"
	pathOrgUsers      = "/api/v1/organizations/:id/users"
)

const localCaller = "caller"

// clientAuth authenticates the calling client from its headers.
func (s *Server) clientAuth(c *fiber.Ctx) error {
	caller, err := s.dir.AuthenticateClient(c.UserContext(), c.Get("x-client-id"), c.Get("x-client-secret"))
	if err != nil {
		return s.restError(c, err)
	}
	c.Locals(localCaller, caller)
	c.SetUserContext(domain.WithActor(c.UserContext(), domain.Actor{Kind: domain.ActorClient, ID: caller.Client.ID, Name: caller.Client.ID}))
	return c.Next()
}

func callerOf(c *fiber.Ctx) *access.Caller { return c.Locals(localCaller).(*access.Caller) }

// provisionBody is one user in a provisioning request, as in the guide.
type provisionBody struct {
	Email           string `json:"email"`
	FirstName       string `json:"firstName"`
	LastName        string `json:"lastName"`
	OrganizationID  string `json:"organizationId"`
	Role            string `json:"role"`
	SendInviteEmail bool   `json:"sendInviteEmail"`
}

func (b provisionBody) input() directory.ProvisionInput {
	return directory.ProvisionInput{
		Email: b.Email, FirstName: b.FirstName, LastName: b.LastName,
		OrganizationID: b.OrganizationID, Role: b.Role, SendInviteEmail: b.SendInviteEmail,
	}
}

// provisionedJSON is the answer for one provisioned user.
// A pending membership's answer has no userId and no status: the caller
// may not read the account, so it gets back only what it sent.
type provisionedJSON struct {
	UserID           string `json:"userId,omitempty"`
	Email            string `json:"email"`
	FirstName        string `json:"firstName"`
	LastName         string `json:"lastName"`
	OrganizationID   string `json:"organizationId"`
	Role             string `json:"role"`
	Status           string `json:"status,omitempty"`
	MembershipStatus string `json:"membershipStatus"`
	IsNewUser        bool   `json:"isNewUser"`
	LicenseAssigned  bool   `json:"licenseAssigned"`
	InviteSent       bool   `json:"inviteSent"`
}

// logInvite records an invitation that was asked for and not sent; the
// answer says inviteSent false.
func (s *Server) logInvite(p directory.Provisioned) {
	if p.InviteErr != nil {
		s.log.Warn("invitation not sent", slog.String("user_id", p.User.ID), slog.String("err", p.InviteErr.Error()))
	}
}

func provisionedView(p directory.Provisioned) provisionedJSON {
	return provisionedJSON{
		UserID: p.User.ID, Email: p.User.Email, FirstName: p.User.GivenName, LastName: p.User.FamilyName,
		OrganizationID: p.OrganizationID, Role: p.Role, Status: string(p.User.Status),
		MembershipStatus: string(p.MembershipStatus), IsNewUser: p.IsNewUser, LicenseAssigned: p.LicenseAssigned, InviteSent: p.InviteSent,
	}
}

// provision is POST /api/v1/users/provision: 201 for a new user, 200 for
// one that had the email already.
func (s *Server) provision(c *fiber.Ctx) error {
	var b provisionBody
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	p, err := s.dir.Provision(c.UserContext(), callerOf(c), b.input())
	if err != nil {
		return s.restError(c, err)
	}
	s.logInvite(p)
	status := fiber.StatusOK
	if p.IsNewUser {
		status = fiber.StatusCreated
	}
	noStore(c)
	return c.Status(status).JSON(provisionedView(p))
}

// bulkResultJSON is one row of a bulk answer.
type bulkResultJSON struct {
	Index   int              `json:"index"`
	Status  string           `json:"status"` // created, existing or error
	User    *provisionedJSON `json:"user,omitempty"`
	Error   string           `json:"error,omitempty"`
	Message string           `json:"message,omitempty"`
}

type bulkJSON struct {
	Results []bulkResultJSON `json:"results"`
	Summary map[string]int   `json:"summary"`
}

// provisionBulk is POST /api/v1/users/provision/bulk: {"users": [...]}.
// Each row is decoded and provisioned on its own, so one malformed row
// fails alone; the answer is 200 with a result per row.
func (s *Server) provisionBulk(c *fiber.Ctx) error {
	if len(callerOf(c).Grants) == 0 {
		return s.restError(c, directory.ErrNoGrants)
	}
	var b struct {
		Users []json.RawMessage `json:"users"`
	}
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	if len(b.Users) > s.dir.MaxBatch() {
		return s.restError(c, badRequest("batch_too_large", "a request may provision at most %d users, got %d", s.dir.MaxBatch(), len(b.Users)))
	}
	inputs := make([]directory.ProvisionInput, len(b.Users))
	decodeErrs := make([]error, len(b.Users))
	for i, raw := range b.Users {
		var row provisionBody
		if decodeErrs[i] = decodeStrict(raw, &row); decodeErrs[i] == nil {
			inputs[i] = row.input()
		}
	}
	results, err := s.provisionRows(c, inputs, decodeErrs)
	if err != nil {
		return s.restError(c, err)
	}
	noStore(c)
	return c.JSON(results)
}

// provisionRows provisions the rows that decoded and merges in the errors
// of those that did not.
func (s *Server) provisionRows(c *fiber.Ctx, inputs []directory.ProvisionInput, decodeErrs []error) (bulkJSON, error) {
	var good []directory.ProvisionInput
	var index []int
	for i, err := range decodeErrs {
		if err == nil {
			good, index = append(good, inputs[i]), append(index, i)
		}
	}
	out := bulkJSON{Results: make([]bulkResultJSON, len(inputs)), Summary: map[string]int{"created": 0, "existing": 0, "error": 0}}
	for i, err := range decodeErrs {
		if err != nil {
			out.Results[i] = rowError(i, err)
		}
	}
	if len(good) > 0 {
		res, err := s.dir.ProvisionBulk(c.UserContext(), callerOf(c), good)
		if err != nil {
			return bulkJSON{}, err
		}
		for k, r := range res {
			i := index[k]
			if r.Err != nil {
				out.Results[i] = rowError(i, r.Err)
				continue
			}
			s.logInvite(r.Provisioned)
			v := provisionedView(r.Provisioned)
			status := "existing"
			if r.IsNewUser {
				status = "created"
			}
			out.Results[i] = bulkResultJSON{Index: i, Status: status, User: &v}
		}
	} else if len(inputs) == 0 {
		return bulkJSON{}, badRequest("invalid_request", "users must hold at least one user")
	}
	for _, r := range out.Results {
		out.Summary[r.Status]++
	}
	return out, nil
}

func rowError(i int, err error) bulkResultJSON {
	e, ok := fault.As(err)
	if !ok {
		return bulkResultJSON{Index: i, Status: "error", Error: "invalid_request", Message: "the row could not be read"}
	}
	return bulkResultJSON{Index: i, Status: "error", Error: e.Code, Message: e.Message}
}

// userJSON is a user as the management API shows them.
type userJSON struct {
	UserID        string           `json:"userId"`
	Email         string           `json:"email"`
	EmailVerified bool             `json:"emailVerified"`
	FirstName     string           `json:"firstName"`
	LastName      string           `json:"lastName"`
	PhoneNumber   string           `json:"phoneNumber,omitempty"`
	Picture       string           `json:"picture,omitempty"`
	Status        string           `json:"status"`
	Organizations []membershipJSON `json:"organizations"`
	CreatedAt     string           `json:"createdAt"`
	UpdatedAt     string           `json:"updatedAt"`
}

type membershipJSON struct {
	OrganizationID string `json:"organizationId"`
	Role           string `json:"role"`
	Status         string `json:"status"`
	Primary        bool   `json:"primary"`
}

func jsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func userView(u domain.User, ms []domain.Membership) userJSON {
	out := userJSON{
		UserID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, FirstName: u.GivenName, LastName: u.FamilyName,
		PhoneNumber: u.PhoneNumber, Picture: u.Picture, Status: string(u.Status),
		Organizations: make([]membershipJSON, 0, len(ms)), CreatedAt: jsTime(u.CreatedAt), UpdatedAt: jsTime(u.UpdatedAt),
	}
	for _, m := range ms {
		out.Organizations = append(out.Organizations, membershipJSON{OrganizationID: m.OrganizationID, Role: m.Role, Status: string(m.Status), Primary: m.Primary})
	}
	return out
}

func (s *Server) sendUser(c *fiber.Ctx, v directory.UserView, err error) error {
	if err != nil {
		return s.restError(c, err)
	}
	noStore(c)
	return c.JSON(userView(v.User, v.Memberships))
}

func (s *Server) getUser(c *fiber.Ctx) error {
	v, err := s.dir.GetUser(c.UserContext(), callerOf(c), c.Params("id"))
	return s.sendUser(c, v, err)
}

// profileBody is PATCH /api/v1/users/:id. Email is deliberately absent, so
// sending it is an unknown-field 400.
type profileBody struct {
	FirstName   *string `json:"firstName"`
	LastName    *string `json:"lastName"`
	PhoneNumber *string `json:"phoneNumber"`
	Picture     *string `json:"picture"`
}

func (s *Server) updateUser(c *fiber.Ctx) error {
	var b profileBody
	if err := decodeJSON(c, &b); err != nil {
		return s.restError(c, err)
	}
	v, err := s.dir.UpdateUser(c.UserContext(), callerOf(c), c.Params("id"), directory.ProfilePatch{
		FirstName: b.FirstName, LastName: b.LastName, PhoneNumber: b.PhoneNumber, Picture: b.Picture,
	})
	return s.sendUser(c, v, err)
}

// lifecycle returns the handler of POST /api/v1/users/:id/<action>.
func (s *Server) lifecycle(l directory.Lifecycle) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := s.dir.SetStatus(c.UserContext(), callerOf(c), c.Params("id"), l)
		return s.sendUser(c, v, err)
	}
}

func (s *Server) deleteUser(c *fiber.Ctx) error {
	if err := s.dir.DeleteUser(c.UserContext(), callerOf(c), c.Params("id")); err != nil {
		return s.restError(c, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Server) resetUserPassword(c *fiber.Ctx) error {
	if err := s.dir.SendPasswordReset(c.UserContext(), callerOf(c), c.Params("id")); err != nil {
		return s.restError(c, err)
	}
	noStore(c)
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"status": "reset_email_sent"})
}

type memberPageJSON struct {
	Users      []userJSON `json:"users"`
	NextCursor string     `json:"nextCursor,omitempty"`
}

func memberPage(p directory.Page[domain.Member]) memberPageJSON {
	out := memberPageJSON{Users: make([]userJSON, 0, len(p.Items)), NextCursor: p.NextCursor}
	for _, m := range p.Items {
		out.Users = append(out.Users, userView(m.User, []domain.Membership{m.Membership}))
	}
	return out
}

func (s *Server) listOrgUsers(c *fiber.Ctx) error {
	cursor, limit, err := pageQuery(c)
	if err != nil {
		return s.restError(c, err)
	}
	p, err := s.dir.ListUsers(c.UserContext(), callerOf(c), c.Params("id"), cursor, limit)
	if err != nil {
		return s.restError(c, err)
	}
	noStore(c)
	return c.JSON(memberPage(p))
}
