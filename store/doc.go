// Package store is Ashlar's storage: one schema and one set of queries that
// run on embedded SQLite (the default) and on PostgreSQL.
//
// Ashby objects are stored as documents: each record's row holds the exact
// JSON the API returns (column doc) beside the few columns that queries
// filter and order on. A list page is therefore read, not rebuilt: the
// server copies stored bytes into the response.
//
// Every row carries a change position (chg_tx) that orders changes in
// commit order on both engines; incremental sync (syncToken) reads by it.
// See sync.go for why that is safe on PostgreSQL, where transactions
// commit out of the order in which they began.
package store
