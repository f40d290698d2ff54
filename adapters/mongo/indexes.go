package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// indexSet is the indexes of one collection.
type indexSet struct {
	collection string
	models     []mongo.IndexModel
}

var (
	indexMu   sync.Mutex
	indexSets []indexSet
)

// registerIndexes declares a collection's indexes; each store file calls it
// from init, so the set lives next to the queries it serves.
func registerIndexes(collection string, models ...mongo.IndexModel) {
	indexMu.Lock()
	defer indexMu.Unlock()
	indexSets = append(indexSets, indexSet{collection: collection, models: models})
}

// EnsureIndexes creates every collection's missing indexes, so every
// instance runs it at start. It creates only the indexes whose names are not
// there yet: MongoDB would take an identical index again as a no-op, but
// FerretDB 1.24 drops the connection on some such requests.
func EnsureIndexes(ctx context.Context, db *mongo.Database) error {
	indexMu.Lock()
	sets := append([]indexSet(nil), indexSets...)
	indexMu.Unlock()
	for _, s := range sets {
		existing, err := indexNames(ctx, db.Collection(s.collection))
		if err != nil {
			return translate(fmt.Sprintf("list indexes on %s", s.collection), err)
		}
		// The driver writes each index's name into its options; give it
		// copies, so that databases set up in parallel never share them.
		var models []mongo.IndexModel
		for _, m := range s.models {
			o := options.Index()
			if m.Options != nil {
				c := *m.Options
				o = &c
			}
			if o.Name == nil {
				name := defaultIndexName(m.Keys)
				o.Name = &name
			}
			if existing[*o.Name] {
				continue
			}
			m.Options = o
			models = append(models, m)
		}
		if len(models) == 0 {
			continue
		}
		if _, err := db.Collection(s.collection).Indexes().CreateMany(ctx, models); err != nil {
			return translate(fmt.Sprintf("create indexes on %s", s.collection), err)
		}
	}
	return nil
}

// indexNames lists a collection's index names (none for a collection that
// does not exist yet).
func indexNames(ctx context.Context, coll *mongo.Collection) (map[string]bool, error) {
	cur, err := coll.Indexes().List(ctx)
	if err != nil {
		var cmd mongo.CommandError
		if errors.As(err, &cmd) && cmd.Code == 26 { // NamespaceNotFound
			return map[string]bool{}, nil
		}
		return nil, err
	}
	var specs []struct {
		Name string `bson:"name"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(specs))
	for _, s := range specs {
		out[s.Name] = true
	}
	return out, nil
}

// defaultIndexName is the name MongoDB gives an index without one:
// field_direction pairs joined by underscores.
func defaultIndexName(keys any) string {
	d, ok := keys.(bson.D)
	if !ok {
		return fmt.Sprint(keys)
	}
	var b strings.Builder
	for i, e := range d {
		if i > 0 {
			b.WriteByte('_')
		}
		fmt.Fprintf(&b, "%s_%v", e.Key, e.Value)
	}
	return b.String()
}
