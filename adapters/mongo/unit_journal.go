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
	j, err := u.plan(c, docs, filter, absentIDs, upsert)
	if err != nil {
		return 0, err
	}
	if err := u.store(ctx, j); err != nil {
		return 0, err
	}
	for _, ch := range j.waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if u.missing(j.keys) {
		// Another goroutine failed to journal one of them: try again.
		return u.capture(ctx, c, filter, absentIDs, upsert)
	}
	return len(docs), u.writable()
}

// journalling is what one capture adds to the journal, and waits for.
type journalling struct {
	keys    []string        // every document the write may change
	entries []any           // the entries this capture stores
	mine    []string        // the documents they journal
	waits   []chan struct{} // documents another goroutine is journalling
}

// plan decides, under the unit's lock, which of the documents are this
// capture's to journal, and claims them.
func (u *unit) plan(c *collection, docs []bson.Raw, filter any, absentIDs []any, upsert bool) (journalling, error) {
	dbName, collName := c.Database().Name(), c.Name()
	var j journalling
	u.mu.Lock()
	defer u.mu.Unlock()
	add := func(id bson.RawValue, before bson.Raw) {
		k := docKey(dbName, collName, id)
		j.keys = append(j.keys, k)
		if ch, ok := u.captured[k]; ok {
			j.waits = append(j.waits, ch)
			return
		}
		u.captured[k] = make(chan struct{})
		j.mine = append(j.mine, k)
		u.seq++
		j.entries = append(j.entries, undoDoc{Unit: u.gen, Seq: u.seq, DB: dbName, Coll: collName, Key: id, Before: before})
	}
	fail := func(err error) (journalling, error) {
		for _, k := range j.mine { // claimed, never to be journalled
			close(u.captured[k])
			delete(u.captured, k)
		}
		return journalling{}, err
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
			return fail(err)
		}
		if raw := (bson.RawValue{Type: t, Value: v}); !found[docKey(dbName, collName, raw)] {
			add(raw, nil)
		}
	}
	if upsert && len(docs) == 0 {
		raw, err := bson.Marshal(filter)
		if err != nil {
			return fail(err)
		}
		u.seq++
		j.entries = append(j.entries, undoDoc{Unit: u.gen, Seq: u.seq, DB: dbName, Coll: collName, Filter: raw})
	}
	return j, nil
}

// store writes the planned entries and releases the documents they claim:
// journalled, or, should the write fail, free for the next write to try.
func (u *unit) store(ctx context.Context, j journalling) error {
	if len(j.entries) == 0 {
		return nil
	}
	_, err := u.units.undo.InsertMany(ctx, j.entries)
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, k := range j.mine {
		close(u.captured[k])
		if err != nil {
			delete(u.captured, k)
		}
	}
	if err == nil {
		u.journal = true
	}
	return err
}

// missing reports whether any of the documents is not journalled.
func (u *unit) missing(keys []string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, k := range keys {
		if _, ok := u.captured[k]; !ok {
			return true
		}
	}
	return false
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
