package mongo

import (
	"context"
	"log/slog"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// undoDoc is one entry of a unit's undo journal: a document as it was
// before the unit changed it (Before), or absent (Before nil), by its _id;
// or, for an upsert whose _id could not be chosen in advance, the filter
// whose documents are to be deleted.
type undoDoc struct {
	Unit   int64    `bson:"unit"`
	Seq    int64    `bson:"seq"`
	DB     string   `bson:"db"`
	Coll   string   `bson:"coll"`
	Key    any      `bson:"key,omitempty"`
	Before bson.Raw `bson:"before,omitempty"`
	Filter bson.Raw `bson:"filter,omitempty"`
}

// docKey names a document of a collection in a unit's captured set.
func docKey(db, coll string, id bson.RawValue) string {
	return db + "\x00" + coll + "\x00" + string(rune(id.Type)) + string(id.Value)
}

// capture journals the documents of c that filter matches, unless the unit
// journalled them already, and, as absent, those of absentIDs it does not
// match; with upsert, a filter that matches nothing is journalled too. It
// returns how many documents filter matched, once the journal holds every
// document the write may change (including those another goroutine of the
// unit is journalling) and the unit may still write.
func (u *unit) capture(ctx context.Context, c *collection, filter any, absentIDs []any, upsert bool) (int, error) {
	if err := u.writable(); err != nil {
		return 0, err
	}
	cur, err := c.Collection.Find(ctx, filter)
	if err != nil {
		return 0, err
	}
	var docs []bson.Raw
	if err := cur.All(ctx, &docs); err != nil {
		return 0, err
	}
	dbName, collName := c.Database().Name(), c.Name()
	keys := make([]string, 0, len(docs)+len(absentIDs))
	var (
		entries []any
		mine    []string
		waits   []chan struct{}
	)
	u.mu.Lock()
	add := func(id bson.RawValue, before bson.Raw) {
		k := docKey(dbName, collName, id)
		keys = append(keys, k)
		if ch, ok := u.captured[k]; ok {
			waits = append(waits, ch)
			return
		}
		u.captured[k] = make(chan struct{})
		mine = append(mine, k)
		u.seq++
		entries = append(entries, undoDoc{Unit: u.gen, Seq: u.seq, DB: dbName, Coll: collName, Key: id, Before: before})
	}
	found := map[string]bool{}
	for _, d := range docs {
		id := d.Lookup("_id")
		found[docKey(dbName, collName, id)] = true
		add(id, d)
	}
	for _, id := range absentIDs {
		t, v, err := bson.MarshalValue(id)
		if err != nil {
			u.mu.Unlock()
			return 0, err
		}
		if raw := (bson.RawValue{Type: t, Value: v}); !found[docKey(dbName, collName, raw)] {
			add(raw, nil)
		}
	}
	if upsert && len(docs) == 0 {
		raw, err := bson.Marshal(filter)
		if err != nil {
			u.mu.Unlock()
			return 0, err
		}
		u.seq++
		entries = append(entries, undoDoc{Unit: u.gen, Seq: u.seq, DB: dbName, Coll: collName, Filter: raw})
	}
	u.mu.Unlock()

	if len(entries) > 0 {
		_, err = u.units.undo.InsertMany(ctx, entries)
		u.mu.Lock()
		for _, k := range mine {
			close(u.captured[k])
			if err != nil {
				delete(u.captured, k) // not journalled: the next write tries again
			}
		}
		if err == nil {
			u.journal = true
		}
		u.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	for _, ch := range waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	// A document another goroutine failed to journal is journalled here.
	u.mu.Lock()
	retry := false
	for _, k := range keys {
		if _, ok := u.captured[k]; !ok {
			retry = true
		}
	}
	u.mu.Unlock()
	if retry {
		return u.capture(ctx, c, filter, absentIDs, upsert)
	}
	return len(docs), u.writable()
}

// undoUnit puts back what the unit's journal recorded, under the lease of
// by (the unit that undoes, which may be the unit itself): it deletes
// every document the unit journalled, then puts back those that existed
// before, each as the unit first found it. Deleting first lets the unit's
// own swaps of unique keys (an email moved from one user to another) go
// back. A document that cannot be put back since a write made outside any
// unit took one of its unique keys meanwhile is tried again after the
// others, and left out, and logged, when no try succeeds. Then the unit is
// done.
func (us *Units) undoUnit(ctx context.Context, gen int64, by *unit) error {
	cur, err := us.undo.Find(ctx, bson.D{{Key: "unit", Value: gen}}, options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}))
	if err != nil {
		return err
	}
	var entries []undoDoc
	if err := cur.All(ctx, &entries); err != nil {
		return err
	}
	coll := func(e undoDoc) *mongo.Collection { return us.db.Client().Database(e.DB).Collection(e.Coll) }
	for _, e := range entries {
		if err := by.writable(); err != nil && by.gen != gen {
			return err
		}
		var err error
		if e.Filter != nil {
			_, err = coll(e).DeleteMany(ctx, e.Filter)
		} else {
			_, err = coll(e).DeleteOne(ctx, bson.D{{Key: "_id", Value: e.Key}})
		}
		if err != nil {
			return err
		}
	}
	var back []undoDoc
	for _, e := range entries {
		if e.Before != nil {
			back = append(back, e)
		}
	}
	for len(back) > 0 {
		var again []undoDoc
		for _, e := range back {
			_, err := coll(e).InsertOne(ctx, e.Before)
			switch {
			case isUniqueViolation(err):
				again = append(again, e)
			case err != nil:
				return err
			}
		}
		if len(again) == len(back) {
			for _, e := range again {
				us.log.Warn("mongo: a document an undone unit of work changed could not be put back: a write outside units took its unique key",
					slog.Int64("unit", gen), slog.String("collection", e.Coll))
			}
			break
		}
		back = again
	}
	own := by
	if by.gen != gen {
		own = nil
	}
	return us.markDone(ctx, gen, own)
}
