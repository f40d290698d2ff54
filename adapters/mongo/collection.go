package mongo

import (
	"context"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// collection is the collection every store writes through. Outside a unit
// of work it is the driver's collection. Inside one (see Units), each write
// first journals how to put back every document it may change, and fails
// once the unit can no longer write (it ended, or its lease ran out); an
// upsert is given its _id first, so that the document it may insert is
// journalled as absent. Reads are the driver's own.
type collection struct{ *mongo.Collection }

// collectionOf returns db's collection name, written through units.
func collectionOf(db *mongo.Database, name string) *collection {
	return &collection{db.Collection(name)}
}

// InsertOne inserts doc, with an _id made here when it has none, so that a
// unit can journal the document as absent before it exists.
func (c *collection) InsertOne(ctx context.Context, doc any, opts ...*options.InsertOneOptions) (*mongo.InsertOneResult, error) {
	u := unitOf(ctx)
	if u == nil {
		return c.Collection.InsertOne(ctx, doc, opts...)
	}
	d, id, err := withID(doc)
	if err != nil {
		return nil, err
	}
	if _, err := u.capture(ctx, c, bson.D{{Key: "_id", Value: id}}, []any{id}, false); err != nil {
		return nil, err
	}
	return c.Collection.InsertOne(ctx, d, opts...)
}

// InsertMany is InsertOne for several documents.
func (c *collection) InsertMany(ctx context.Context, docs []any, opts ...*options.InsertManyOptions) (*mongo.InsertManyResult, error) {
	u := unitOf(ctx)
	if u == nil {
		return c.Collection.InsertMany(ctx, docs, opts...)
	}
	withIDs := make([]any, len(docs))
	ids := make([]any, len(docs))
	for i, doc := range docs {
		var err error
		if withIDs[i], ids[i], err = withID(doc); err != nil {
			return nil, err
		}
	}
	if _, err := u.capture(ctx, c, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, ids, false); err != nil {
		return nil, err
	}
	return c.Collection.InsertMany(ctx, withIDs, opts...)
}

// UpdateOne journals every document filter matches (the one it changes is
// among them) before it updates.
func (c *collection) UpdateOne(ctx context.Context, filter, update any, opts ...*options.UpdateOptions) (*mongo.UpdateResult, error) {
	if u := unitOf(ctx); u != nil {
		var err error
		if update, err = c.captureUpdate(ctx, u, filter, update, options.MergeUpdateOptions(opts...).Upsert); err != nil {
			return nil, err
		}
	}
	return c.Collection.UpdateOne(ctx, filter, update, opts...)
}

// UpdateMany is UpdateOne for every document filter matches.
func (c *collection) UpdateMany(ctx context.Context, filter, update any, opts ...*options.UpdateOptions) (*mongo.UpdateResult, error) {
	if u := unitOf(ctx); u != nil {
		var err error
		if update, err = c.captureUpdate(ctx, u, filter, update, options.MergeUpdateOptions(opts...).Upsert); err != nil {
			return nil, err
		}
	}
	return c.Collection.UpdateMany(ctx, filter, update, opts...)
}

// FindOneAndUpdate is UpdateOne that returns the document.
func (c *collection) FindOneAndUpdate(ctx context.Context, filter, update any, opts ...*options.FindOneAndUpdateOptions) *mongo.SingleResult {
	if u := unitOf(ctx); u != nil {
		var err error
		if update, err = c.captureUpdate(ctx, u, filter, update, options.MergeFindOneAndUpdateOptions(opts...).Upsert); err != nil {
			return mongo.NewSingleResultFromDocument(bson.D{}, err, nil)
		}
	}
	return c.Collection.FindOneAndUpdate(ctx, filter, update, opts...)
}

// ReplaceOne is UpdateOne for a replacement. An upsert that matches
// nothing inserts the replacement with the _id journalled for it.
func (c *collection) ReplaceOne(ctx context.Context, filter, replacement any, opts ...*options.ReplaceOptions) (*mongo.UpdateResult, error) {
	if u := unitOf(ctx); u != nil {
		upsert := options.MergeReplaceOptions(opts...).Upsert
		if upsert == nil || !*upsert {
			if _, err := u.capture(ctx, c, filter, nil, false); err != nil {
				return nil, err
			}
		} else {
			id, ok, err := filterID(filter)
			if err != nil {
				return nil, err
			}
			doc := replacement
			if !ok {
				if doc, id, err = withID(replacement); err != nil {
					return nil, err
				}
			}
			n, err := u.capture(ctx, c, filter, []any{id}, false)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				replacement = doc // a match keeps its own _id
			}
		}
	}
	return c.Collection.ReplaceOne(ctx, filter, replacement, opts...)
}

// DeleteOne journals every document filter matches before it deletes one.
func (c *collection) DeleteOne(ctx context.Context, filter any, opts ...*options.DeleteOptions) (*mongo.DeleteResult, error) {
	if u := unitOf(ctx); u != nil {
		if _, err := u.capture(ctx, c, filter, nil, false); err != nil {
			return nil, err
		}
	}
	return c.Collection.DeleteOne(ctx, filter, opts...)
}

// DeleteMany journals every document filter matches before it deletes them.
func (c *collection) DeleteMany(ctx context.Context, filter any, opts ...*options.DeleteOptions) (*mongo.DeleteResult, error) {
	if u := unitOf(ctx); u != nil {
		if _, err := u.capture(ctx, c, filter, nil, false); err != nil {
			return nil, err
		}
	}
	return c.Collection.DeleteMany(ctx, filter, opts...)
}

// captureUpdate journals what an update may change, and returns the update
// to send: an upsert's update sets, on insert, the _id journalled as
// absent for the document it may insert (the filter's own _id when it
// names one).
func (c *collection) captureUpdate(ctx context.Context, u *unit, filter, update any, upsert *bool) (any, error) {
	if upsert == nil || !*upsert {
		_, err := u.capture(ctx, c, filter, nil, false)
		return update, err
	}
	id, ok, err := filterID(filter)
	if err != nil {
		return nil, err
	}
	if !ok {
		id = primitive.NewObjectID()
		raw, err := bson.Marshal(update)
		if err != nil {
			return nil, err
		}
		var d bson.D
		if err := bson.Unmarshal(raw, &d); err != nil {
			return nil, err
		}
		if len(d) == 0 || !strings.HasPrefix(d[0].Key, "$") {
			// Not operators: the upsert cannot be given an _id, so the
			// filter is journalled instead.
			_, err := u.capture(ctx, c, filter, nil, true)
			return update, err
		}
		update = setOnInsertID(d, id)
	}
	_, err = u.capture(ctx, c, filter, []any{id}, false)
	return update, err
}

// setOnInsertID adds _id to an update's $setOnInsert.
func setOnInsertID(update bson.D, id any) bson.D {
	for i, e := range update {
		if e.Key != "$setOnInsert" {
			continue
		}
		var set bson.D
		if raw, err := bson.Marshal(e.Value); err == nil && bson.Unmarshal(raw, &set) == nil {
			update[i].Value = append(bson.D{{Key: "_id", Value: id}}, set...)
			return update
		}
	}
	return append(update, bson.E{Key: "$setOnInsert", Value: bson.D{{Key: "_id", Value: id}}})
}

// filterID returns the _id a filter names by equality, if it does.
func filterID(filter any) (any, bool, error) {
	raw, err := bson.Marshal(filter)
	if err != nil {
		return nil, false, err
	}
	v, err := bson.Raw(raw).LookupErr("_id")
	if err != nil {
		return nil, false, nil
	}
	if d, ok := v.DocumentOK(); ok {
		if k, err := d.IndexErr(0); err == nil && strings.HasPrefix(k.Key(), "$") {
			return nil, false, nil // an operator, not a value
		}
	}
	return v, true, nil
}

// withID returns doc encoded, with a new ObjectID as its _id when it has
// none, and its _id.
func withID(doc any) (any, any, error) {
	raw, err := bson.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	if id, err := bson.Raw(raw).LookupErr("_id"); err == nil {
		return bson.Raw(raw), id, nil
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, nil, err
	}
	id := primitive.NewObjectID()
	return append(bson.D{{Key: "_id", Value: id}}, d...), id, nil
}
