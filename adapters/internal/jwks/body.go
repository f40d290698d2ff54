package jwks

import (
	"io"
	"net/http"
)

// CapBody returns a RoundTripper that cuts every response body of next at
// max bytes: jwkset reads a set's whole body and does not bound it itself,
// so without the cap a set's endpoint could make us read without end. A
// nil next means http.DefaultTransport.
func CapBody(next http.RoundTripper, max int64) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return capBody{next: next, max: max}
}

type capBody struct {
	next http.RoundTripper
	max  int64
}

func (c capBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, c.max), resp.Body}
	return resp, nil
}
