package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/mongo/options"
)

// findAll runs a find and returns every document as its domain value; op
// names the failure.
func findAll[T, D any, PD interface {
	*D
	domain() T
}](ctx context.Context, c *collection, op string, filter any, opts ...*options.FindOptions) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, translate(op, err)
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, translate(op, err)
	}
	out := make([]T, len(docs))
	for i := range docs {
		out[i] = PD(&docs[i]).domain()
	}
	return out, nil
}
