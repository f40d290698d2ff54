package webhookflow

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Env is the server under test.
type Env struct {
	// BaseURL is where the server's APIs are called, e.g.
	// "http://127.0.0.1:8080".
	BaseURL string
	// AdminKey is a platform admin key, sent as Authorization: Bearer <key>
	// on the organization, grant and license APIs.
	AdminKey string
}

// Paths of the APIs the suite calls.
const (
	pathRegister  = "/api/v1/oidc/register"
	pathProvision = "/api/v1/users/provision"
	pathUsers     = "/api/v1/users/"
	pathAdmin     = "/api/v1/admin"
	pathAdminOrgs = pathAdmin + "/organizations"
	pathClients   = pathAdmin + "/clients/"
	pathWebhooks  = pathAdmin + "/webhooks"
)

func webhookPath(id string) string      { return pathWebhooks + "/" + id }
func deliveriesPath(id string) string   { return webhookPath(id) + "/deliveries" }
func pingPath(id string) string         { return webhookPath(id) + "/ping" }
func redeliverPath(id, d string) string { return deliveriesPath(id) + "/" + d + "/redeliver" }

// requestTimeout bounds every API call.
const requestTimeout = 30 * time.Second

// API calls the server's REST APIs as a client and as the platform admin.
// Its methods that take a *testing.T fail the test on an unexpected answer;
// the Try methods return an error instead, for goroutines.
type API struct {
	env  Env
	http *http.Client
}

// NewAPI returns an API for env.
func NewAPI(t *testing.T, env Env) *API {
	t.Helper()
	env.BaseURL = strings.TrimRight(env.BaseURL, "/")
	require.NotEmpty(t, env.BaseURL, "Env.BaseURL is required")
	require.NotEmpty(t, env.AdminKey, "Env.AdminKey is required")
	return &API{env: env, http: &http.Client{
		Timeout:       requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Response is an answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// String is the body, clipped for failure messages.
func (r Response) String() string {
	if len(r.Body) > 400 {
		return string(r.Body[:400]) + "…"
	}
	return string(r.Body)
}

func (r Response) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "status %d, body %q", r.Status, r)
}

// request is one call; body is sent as is with contentType.
type request struct {
	method, path string
	header       http.Header
	contentType  string
	body         []byte
}

func jsonRequest(method, path string, header http.Header, v any) (request, error) {
	r := request{method: method, path: path, header: header}
	if v != nil {
		raw, err := json.Marshal(v)
		if err != nil {
			return r, err
		}
		r.body, r.contentType = raw, "application/json"
	}
	return r, nil
}

func (a *API) roundTrip(r request) (Response, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, a.env.BaseURL+r.path, body)
	if err != nil {
		return Response{}, err
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, err
}

// send makes a request; any 5xx fails the test, since no input the suite
// sends may make the server fail.
func (a *API) send(t *testing.T, r request) Response {
	t.Helper()
	out, err := a.roundTrip(r)
	require.NoError(t, err, "%s %s", r.method, r.path)
	require.Less(t, out.Status, 500, "%s %s must not fail with a 5xx; body %q", r.method, r.path, out)
	return out
}

// call sends v as JSON (nil: no body) with header.
func (a *API) call(t *testing.T, header http.Header, method, path string, v any) Response {
	t.Helper()
	r, err := jsonRequest(method, path, header, v)
	require.NoError(t, err)
	return a.send(t, r)
}

func (a *API) adminHeader() http.Header {
	return http.Header{"Authorization": {"Bearer " + a.env.AdminKey}}
}

func (a *API) admin(t *testing.T, method, path string, v any) Response {
	t.Helper()
	return a.call(t, a.adminHeader(), method, path, v)
}

// suffix is a random lower-case tag that keeps one check's names apart
// from every other's on a shared database.
func suffix() string { return strings.ToLower(rand.Text()[:12]) }

// Client is a registered client, calling the APIs with its credentials.
type Client struct{ ID, Secret string }

func (c *Client) header() http.Header {
	return http.Header{"X-Client-Id": {c.ID}, "X-Client-Secret": {c.Secret}}
}

// Register registers a confidential client (RFC 7591). It has no grants.
func (a *API) Register(t *testing.T) *Client {
	t.Helper()
	r := a.call(t, nil, http.MethodPost, pathRegister, map[string]any{
		"client_name":   "webhookflow " + suffix(),
		"redirect_uris": []string{"http://127.0.0.1:5173/cb"},
		"grant_types":   []string{"authorization_code", "refresh_token"},
		"scope":         "openid profile email",
	})
	require.Equal(t, http.StatusCreated, r.Status, "registration; body %q", r)
	var out struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	r.decode(t, &out)
	require.NotEmpty(t, out.ID)
	require.NotEmpty(t, out.Secret, "a confidential client gets a secret")
	return &Client{ID: out.ID, Secret: out.Secret}
}

// NewOrg creates an organization and returns its id.
func (a *API) NewOrg(t *testing.T, tag string) string {
	t.Helper()
	r := a.admin(t, http.MethodPost, pathAdminOrgs, map[string]any{"name": "Webhook Flow " + tag + " " + suffix()})
	require.Equal(t, http.StatusCreated, r.Status, "create organization; body %q", r)
	var o struct {
		ID string `json:"id"`
	}
	r.decode(t, &o)
	require.NotEmpty(t, o.ID)
	return o.ID
}

// allActions are every grant action.
var allActions = []string{"provision", "read", "update", "suspend", "deactivate", "delete", "reset_password"}

// Grant lets c do everything to an organization's users, which also
// entitles it to their events.
func (a *API) Grant(t *testing.T, c *Client, orgID string) {
	t.Helper()
	r := a.admin(t, http.MethodPut, pathClients+c.ID+"/grants/"+orgID, map[string]any{"actions": allActions})
	require.Equal(t, http.StatusOK, r.Status, "put grant; body %q", r)
}

// License gives c's license to a user, as an administrator does.
func (a *API) License(t *testing.T, c *Client, userID string) {
	t.Helper()
	r := a.admin(t, http.MethodPut, pathClients+c.ID+"/licenses/"+userID, nil)
	require.Contains(t, []int{http.StatusCreated, http.StatusOK}, r.Status, "put license; body %q", r)
}

// Tenant is an organization and a client granted everything on it.
type Tenant struct {
	OrgID  string
	Client *Client
}

// NewTenant makes an organization and a client granted on it.
func (a *API) NewTenant(t *testing.T, tag string) *Tenant {
	t.Helper()
	tn := &Tenant{OrgID: a.NewOrg(t, tag), Client: a.Register(t)}
	a.Grant(t, tn.Client, tn.OrgID)
	return tn
}

// User is what the suite provisions.
type User struct {
	Email, FirstName, LastName string
}

// NewUser is a fresh user named Jane Smith.
func NewUser(tag string) User {
	return User{Email: "wf-" + tag + "-" + suffix() + "@example.com", FirstName: "Jane", LastName: "Smith"}
}

// TryProvision provisions u into the tenant's organization as its client
// and returns the user's id.
func (a *API) TryProvision(tn *Tenant, u User) (string, error) {
	req, err := jsonRequest(http.MethodPost, pathProvision, tn.Client.header(), map[string]any{
		"email": u.Email, "firstName": u.FirstName, "lastName": u.LastName, "organizationId": tn.OrgID,
	})
	if err != nil {
		return "", err
	}
	r, err := a.roundTrip(req)
	if err != nil {
		return "", err
	}
	var out struct {
		UserID string `json:"userId"`
	}
	if r.Status != http.StatusCreated && r.Status != http.StatusOK || json.Unmarshal(r.Body, &out) != nil || out.UserID == "" {
		return "", fmt.Errorf("provision %s: status %d, body %q", u.Email, r.Status, r)
	}
	return out.UserID, nil
}

// Provision provisions u and returns the user's id.
func (a *API) Provision(t *testing.T, tn *Tenant, u User) string {
	t.Helper()
	id, err := a.TryProvision(tn, u)
	require.NoError(t, err)
	return id
}

// UpdateUser renames a user as c, which publishes user.updated.
func (a *API) UpdateUser(t *testing.T, c *Client, userID, firstName string) {
	t.Helper()
	r := a.call(t, c.header(), http.MethodPatch, pathUsers+userID, map[string]any{"firstName": firstName})
	require.Equal(t, http.StatusOK, r.Status, "update user; body %q", r)
}

// Subscription is a subscription as the API shows it.
type Subscription struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Description    string   `json:"description"`
	Enabled        bool     `json:"enabled"`
	DisabledReason string   `json:"disabledReason"`
	DisabledAt     string   `json:"disabledAt"` // RFC 3339, "" while enabled
	CreatedAt      string   `json:"createdAt"`
	UpdatedAt      string   `json:"updatedAt"`
	// Secret is set only in the answer to a creation that generated it.
	Secret string `json:"secret"`
}

// Subscribe subscribes c's url to events with a generated secret, which
// the answer holds.
func (a *API) Subscribe(t *testing.T, c *Client, url string, events ...string) Subscription {
	t.Helper()
	r := a.call(t, c.header(), http.MethodPost, pathWebhooks, map[string]any{"url": url, "events": events})
	require.Equal(t, http.StatusCreated, r.Status, "create subscription; body %q", r)
	var s Subscription
	r.decode(t, &s)
	require.NotEmpty(t, s.ID)
	require.NotEmpty(t, s.Secret, "a generated secret is returned on creation")
	return s
}

// GetSubscription reads one of c's subscriptions, requiring 200.
func (a *API) GetSubscription(t *testing.T, c *Client, id string) Subscription {
	t.Helper()
	r := a.call(t, c.header(), http.MethodGet, webhookPath(id), nil)
	require.Equal(t, http.StatusOK, r.Status, "get subscription; body %q", r)
	var s Subscription
	r.decode(t, &s)
	return s
}

// Attempt is one post of a delivery as the API shows it.
type Attempt struct {
	Number     int      `json:"number"`
	At         string   `json:"at"`
	StatusCode int      `json:"statusCode"`
	LatencyMs  *float64 `json:"latencyMs"`
	Error      string   `json:"error"`
	Response   string   `json:"response"`
}

// Delivery is a delivery as the API shows it.
type Delivery struct {
	ID            string    `json:"id"`
	EventID       string    `json:"eventId"`
	Event         string    `json:"event"`
	State         string    `json:"state"`
	AttemptCount  int       `json:"attemptCount"`
	NextAttemptAt string    `json:"nextAttemptAt"`
	CreatedAt     string    `json:"createdAt"`
	CompletedAt   string    `json:"completedAt"`
	Attempts      []Attempt `json:"attempts"`
}

// DeliveryPage is one page of a subscription's deliveries.
type DeliveryPage struct {
	Deliveries []Delivery `json:"deliveries"`
	NextCursor string     `json:"nextCursor"`
}

// DeliveriesPage reads one page of a subscription's deliveries.
func (a *API) DeliveriesPage(t *testing.T, c *Client, subID, query string) DeliveryPage {
	t.Helper()
	path := deliveriesPath(subID)
	if query != "" {
		path += "?" + query
	}
	r := a.call(t, c.header(), http.MethodGet, path, nil)
	require.Equal(t, http.StatusOK, r.Status, "list deliveries; body %q", r)
	var p DeliveryPage
	r.decode(t, &p)
	return p
}

// Deliveries reads every delivery of a subscription, newest first.
func (a *API) Deliveries(t *testing.T, c *Client, subID string) []Delivery {
	t.Helper()
	var out []Delivery
	cursor := ""
	for range 100 {
		q := "limit=100"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		p := a.DeliveriesPage(t, c, subID, q)
		out = append(out, p.Deliveries...)
		if p.NextCursor == "" {
			return out
		}
		cursor = p.NextCursor
	}
	require.Fail(t, "the delivery listing never ends")
	return nil
}
