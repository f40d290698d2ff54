// Package directoryflow is the black-box end-to-end suite of the user
// directory's REST APIs: provisioning (integration guide §4), user
// management, client tenancy, platform administration and the §5 events the
// server publishes.
//
// Like oidcflow it sits outside the hexagon: it drives a running server
// over HTTP with net/http and JSON, knowing only a base URL and an admin key.
// The two things HTTP cannot show it come from Env: the mail the server sent
// (Env.Mailbox) and the events it published (Env.Events).
//
// Every check makes its own organizations, clients and emails with random
// suffixes, so the groups run in parallel and the suite runs on a database
// that other tests share.
package directoryflow
