// Package schema holds the job boards' tables. It is separate from
// package jobboard so that package api, which writes boards, can register
// the migrations without importing the posting API that reads them.
package schema

import (
	"embed"

	"github.com/ashlarhq/ashlar/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

func init() { store.RegisterMigrations(migrations, "migrations") }
