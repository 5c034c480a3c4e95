package server

import (
	"context"
	"errors"
	"time"

	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

// idempotency keeps the API's Idempotency-Keys in the database, so that
// every process on it honours them (store.DB.BeginIdempotent).
type idempotency struct {
	db         *store.DB
	ttl, lease time.Duration
}

func (i idempotency) BeginIdempotent(ctx context.Context, k rpc.IdempotencyKey) (*rpc.IdempotencyClaim, error) {
	c, err := i.db.BeginIdempotent(ctx, store.IdemRequest{Org: k.Org, Principal: k.Principal, Key: k.Key, Endpoint: k.Endpoint, Fingerprint: k.Fingerprint}, i.ttl, i.lease)
	if err != nil {
		return nil, err
	}
	out := &rpc.IdempotencyClaim{Status: c.Status, Response: c.Response, Context: c.Context, Finish: c.Finish,
		Lost: func(err error) bool { return errors.Is(err, store.ErrIdempotencyLost) }}
	switch c.Outcome {
	case store.IdemRun:
		out.Outcome = rpc.IdempotentRun
	case store.IdemReplay:
		out.Outcome = rpc.IdempotentReplay
	case store.IdemMismatch:
		out.Outcome = rpc.IdempotentMismatch
	case store.IdemInProgress:
		out.Outcome = rpc.IdempotentInProgress
	case store.IdemInterrupted:
		out.Outcome = rpc.IdempotentInterrupted
	}
	return out, nil
}
