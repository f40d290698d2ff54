package mongo

// The janitor's sweeps of the grant, session and authorization-request
// collections, for grants_test.go.
var (
	SweepGrantsForTest       = sweepGrants
	SweepSessionsForTest     = sweepSessions
	SweepAuthRequestsForTest = sweepAuthRequests
	ExpiredDocLagForTest     = expiredDocLag
)
