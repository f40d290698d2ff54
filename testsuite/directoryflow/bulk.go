package directoryflow

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var bulkChecks = []check{
	{"a mixed bulk request answers 200 with a result per row and a summary", bulkMixed},
	{"failed bulk rows write nothing", bulkFailedRowsWriteNothing},
	{"a bulk request over MaxBatch rows is 400 batch_too_large and writes nothing", bulkTooLarge},
	{"an empty bulk request is 400", bulkEmpty},
	{"a bulk request of MaxBatch rows succeeds", bulkFull},
	{"eight parallel bulk requests over the same emails make each user once", bulkConcurrent},
}

type bulkRow struct {
	Index   int          `json:"index"`
	Status  string       `json:"status"`
	User    *provisioned `json:"user"`
	Error   string       `json:"error"`
	Message string       `json:"message"`
}

type bulkResult struct {
	Results []bulkRow      `json:"results"`
	Summary map[string]int `json:"summary"`
}

// bulk sends {"users": rows} as c, requiring 200.
func (s *suite) bulk(t *testing.T, c *apiClient, rows any) bulkResult {
	t.Helper()
	r := s.call(t, c, http.MethodPost, pathProvisionBulk, map[string]any{"users": rows})
	require.Equal(t, http.StatusOK, r.Status, "bulk; body %q", r)
	var res bulkResult
	r.decode(t, &res)
	return res
}

// mixedBatch is good rows, each kind of bad row, and a repeated email.
type mixedBatch struct {
	rows      []any
	good      []provisionReq // rows 0, 1 and 2
	badEmails []string       // valid addresses in rows that must fail
	foreign   org            // the organization not granted
}

func (s *suite) mixedBatch(t *testing.T, o org, tag string) mixedBatch {
	t.Helper()
	b := mixedBatch{foreign: s.newOrg(t, tag+" foreign")}
	b.good = []provisionReq{newUserReq(o.ID, tag), newUserReq(o.ID, tag), newUserReq(o.ID, tag)}
	unknownRole, foreignRow, malformed := newUserReq(o.ID, tag), newUserReq(b.foreign.ID, tag), newEmail(tag)
	unknownRole.Role = "no-such-role"
	b.badEmails = []string{unknownRole.Email, foreignRow.Email, malformed}
	b.rows = []any{
		b.good[0], b.good[1], b.good[2],
		provisionReq{Email: "not an email", FirstName: "Bad", LastName: "Email", OrganizationID: o.ID},
		unknownRole,
		foreignRow,
		map[string]any{"email": malformed, "firstName": 5, "lastName": "Smith", "organizationId": o.ID},
		upper(b.good[1]),
	}
	return b
}

func bulkMixed(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "bulkmix")
	b := s.mixedBatch(t, o, "bulkmix")
	res := s.bulk(t, c, b.rows)
	require.Len(t, res.Results, len(b.rows))
	for i, r := range res.Results {
		assert.Equal(t, i, r.Index, "results are in row order")
	}
	for i := range 3 {
		r := res.Results[i]
		require.Equal(t, "created", r.Status, "row %d: %s %s", i, r.Error, r.Message)
		require.NotNil(t, r.User)
		assert.Equal(t, b.good[i].Email, r.User.Email)
		assert.True(t, r.User.IsNewUser)
		assert.Equal(t, "invited", r.User.Status)
		assert.Equal(t, "member", r.User.Role)
		assert.True(t, r.User.LicenseAssigned)
	}
	errs := []struct {
		row  int
		code string
		why  string
	}{
		{3, "invalid_email", "an invalid email"},
		{4, "invalid_role", "an unknown role"},
		{5, "forbidden", "an organization not granted"},
		{6, "invalid_request", "firstName is a number"},
	}
	for _, e := range errs {
		r := res.Results[e.row]
		assert.Equal(t, "error", r.Status, "row %d (%s)", e.row, e.why)
		assert.Equal(t, e.code, r.Error, "row %d (%s)", e.row, e.why)
		assert.NotEmpty(t, r.Message, "row %d (%s) explains itself", e.row, e.why)
		assert.Nil(t, r.User, "row %d (%s) has no user", e.row, e.why)
	}
	dup := res.Results[7]
	require.Equal(t, "existing", dup.Status, "a repeated email in the batch is the same user; %s %s", dup.Error, dup.Message)
	require.NotNil(t, dup.User)
	assert.Equal(t, res.Results[1].User.UserID, dup.User.UserID)
	assert.False(t, dup.User.IsNewUser)
	assert.Equal(t, map[string]int{"created": 3, "existing": 1, "error": 4}, res.Summary)
}

func bulkFailedRowsWriteNothing(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "bulknothing")
	b := s.mixedBatch(t, o, "bulknothing")
	s.bulk(t, c, b.rows)
	want := []string{b.good[0].Email, b.good[1].Email, b.good[2].Email}
	assert.ElementsMatch(t, want, emailsOf(s.members(t, o.ID)), "only the good rows are members")
	assert.Empty(t, s.members(t, b.foreign.ID), "nothing was written in the organization not granted")
	for _, email := range b.badEmails {
		p := s.provision(t, c, provisionReq{Email: email, FirstName: "Later", LastName: "User", OrganizationID: o.ID})
		assert.True(t, p.IsNewUser, "%s was not created by its failed row", email)
	}
}

// upper is a row with its email in upper case: the same user.
func upper(in provisionReq) provisionReq {
	in.Email = strings.ToUpper(in.Email)
	return in
}

// manyRows is n fresh users of an organization.
func manyRows(orgID, tag string, n int) []provisionReq {
	rows := make([]provisionReq, n)
	batch := suffix()
	for i := range rows {
		rows[i] = provisionReq{
			Email: fmt.Sprintf("df-%s-%s-%d@example.com", tag, batch, i), FirstName: "Row", LastName: fmt.Sprint(i), OrganizationID: orgID,
		}
	}
	return rows
}

func bulkTooLarge(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "bulkbig")
	r := s.call(t, c, http.MethodPost, pathProvisionBulk, map[string]any{"users": manyRows(o.ID, "big", s.env.MaxBatch+1)})
	m := requireError(t, r, http.StatusBadRequest, "batch_too_large")
	assert.Contains(t, m["message"], fmt.Sprint(s.env.MaxBatch), "the message names the limit")
	assert.Empty(t, s.members(t, o.ID), "a refused batch writes nothing")
}

func bulkEmpty(t *testing.T, s *suite) {
	_, c := s.newTenant(t, "bulkempty")
	requireError(t, s.call(t, c, http.MethodPost, pathProvisionBulk, map[string]any{"users": []any{}}), http.StatusBadRequest, "")
	requireError(t, s.call(t, c, http.MethodPost, pathProvisionBulk, map[string]any{}), http.StatusBadRequest, "")
}

func bulkFull(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "bulkfull")
	rows := manyRows(o.ID, "full", s.env.MaxBatch)
	start := time.Now()
	res := s.bulk(t, c, rows)
	t.Logf("%d rows provisioned in %s", len(rows), time.Since(start).Round(time.Millisecond))
	require.Len(t, res.Results, len(rows))
	assert.Equal(t, map[string]int{"created": len(rows), "existing": 0, "error": 0}, res.Summary)
	for i, r := range res.Results {
		if !assert.Equal(t, "created", r.Status, "row %d: %s %s", i, r.Error, r.Message) {
			break
		}
	}
	assert.Len(t, s.members(t, o.ID), len(rows))
}

func bulkConcurrent(t *testing.T, s *suite) {
	o, c := s.newTenant(t, "bulkrace")
	rows := manyRows(o.ID, "race", 20)
	const n = 8
	answers, errs := make([]response, n), make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		// Each request holds the same users in another order.
		batch := append(append([]provisionReq{}, rows[i*2:]...), rows[:i*2]...)
		req := jsonRequest(t, http.MethodPost, pathProvisionBulk, c.header(), map[string]any{"users": batch})
		wg.Go(func() {
			<-start
			answers[i], errs[i] = s.roundTrip(req)
		})
	}
	close(start)
	wg.Wait()
	ids, created := map[string]string{}, 0
	for i, r := range answers {
		require.NoError(t, errs[i])
		require.Equal(t, http.StatusOK, r.Status, "request %d; body %q", i, r)
		var res bulkResult
		r.decode(t, &res)
		for _, row := range res.Results {
			require.NotNil(t, row.User, "request %d row %d: %s %s", i, row.Index, row.Error, row.Message)
			if prev, ok := ids[row.User.Email]; ok {
				assert.Equal(t, prev, row.User.UserID, "%s is one user in every answer", row.User.Email)
			}
			ids[row.User.Email] = row.User.UserID
		}
		created += res.Summary["created"]
	}
	assert.Len(t, ids, len(rows))
	assert.Equal(t, len(rows), created, "each user is created by exactly one row of one request")
	assert.Len(t, s.members(t, o.ID), len(rows))
}
