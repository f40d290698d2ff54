package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// collection is the collection every store writes through. Outside a unit
// of work it is the driver's collection. Inside one (see Units), each write
// first records, in the unit's undo journal, how to put back every document
// it may change, and fails once the unit can no longer write (it ended, or
// its lease ran out); reads are the driver's own.
type collection struct{ *mongo.Collection }

// collectionOf returns db's collection name, written through units.
func collectionOf(db *mongo.Database, name string) *collection {
	return &collection{db.Collection(name)}
}

// InsertOne inserts doc, with an _id made here when it has none, so that a
// unit can record the document as absent before it exists.
func (c *collection) InsertOne(ctx context.Context, doc any, opts ...*options.InsertOneOptions) (*mongo.InsertOneResult, error) {
	u := unitOf(ctx)
	if u == nil {
		return c.Collection.InsertOne(ctx, doc, opts...)
	}
	d, id, err := withID(doc)
	if err != nil {
		return nil, err
	}
	if err := u.capture(ctx, c, bson.D{{Key: "_id", Value: id}}, []any{id}, false); err != nil {
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
	if err := u.capture(ctx, c, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}, ids, false); err != nil {
		return nil, err
	}
	return c.Collection.InsertMany(ctx, withIDs, opts...)
}

// UpdateOne records every document filter matches (the one it changes is
// among them) before it updates.
func (c *collection) UpdateOne(ctx context.Context, filter, update any, opts ...*options.UpdateOptions) (*mongo.UpdateResult, error) {
	if u := unitOf(ctx); u != nil {
		upsert := options.MergeUpdateOptions(opts...).Upsert
		if err := u.capture(ctx, c, filter, nil, upsert != nil && *upsert); err != nil {
			return nil, err
		}
	}
	return c.Collection.UpdateOne(ctx, filter, update, opts...)
}

// UpdateMany is UpdateOne for every document filter matches.
func (c *collection) UpdateMany(ctx context.Context, filter, update any, opts ...*options.UpdateOptions) (*mongo.UpdateResult, error) {
	if u := unitOf(ctx); u != nil {
		upsert := options.MergeUpdateOptions(opts...).Upsert
		if err := u.capture(ctx, c, filter, nil, upsert != nil && *upsert); err != nil {
			return nil, err
		}
	}
	return c.Collection.UpdateMany(ctx, filter, update, opts...)
}

// ReplaceOne is UpdateOne for a replacement.
func (c *collection) ReplaceOne(ctx context.Context, filter, replacement any, opts ...*options.ReplaceOptions) (*mongo.UpdateResult, error) {
	if u := unitOf(ctx); u != nil {
		upsert := options.MergeReplaceOptions(opts...).Upsert
		if err := u.capture(ctx, c, filter, nil, upsert != nil && *upsert); err != nil {
			return nil, err
		}
	}
	return c.Collection.ReplaceOne(ctx, filter, replacement, opts...)
}

// FindOneAndUpdate is UpdateOne that returns the document.
func (c *collection) FindOneAndUpdate(ctx context.Context, filter, update any, opts ...*options.FindOneAndUpdateOptions) *mongo.SingleResult {
	if u := unitOf(ctx); u != nil {
		upsert := options.MergeFindOneAndUpdateOptions(opts...).Upsert
		if err := u.capture(ctx, c, filter, nil, upsert != nil && *upsert); err != nil {
			return mongo.NewSingleResultFromDocument(bson.D{}, err, nil)
		}
	}
	return c.Collection.FindOneAndUpdate(ctx, filter, update, opts...)
}

// DeleteOne records every document filter matches before it deletes one.
func (c *collection) DeleteOne(ctx context.Context, filter any, opts ...*options.DeleteOptions) (*mongo.DeleteResult, error) {
	if u := unitOf(ctx); u != nil {
		if err := u.capture(ctx, c, filter, nil, false); err != nil {
			return nil, err
		}
	}
	return c.Collection.DeleteOne(ctx, filter, opts...)
}

// DeleteMany records every document filter matches before it deletes them.
func (c *collection) DeleteMany(ctx context.Context, filter any, opts ...*options.DeleteOptions) (*mongo.DeleteResult, error) {
	if u := unitOf(ctx); u != nil {
		if err := u.capture(ctx, c, filter, nil, false); err != nil {
			return nil, err
		}
	}
	return c.Collection.DeleteMany(ctx, filter, opts...)
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
