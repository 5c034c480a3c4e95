package api

import (
	"context"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
)

// version.list (https://developers.ashbyhq.com/reference/versioning): the API versions this server serves
// and where each is in Ashby's lifecycle (pre-release, active, deprecated,
// unsupported, removed). Ashby documents the endpoint but not its shape
// or permission; docs/compatibility.md#version-list records Ashlar's.
// Ashlar serves one version, the one every response names in its
// Ashby-Version and Ashby-Version-Status headers.

func init() { register((*Service).versionEndpoints) }

// VersionInfo is one API version.
type VersionInfo struct {
	Version string `json:"version"`
	Status  string `json:"status" enum:"pre-release,active,deprecated,unsupported,removed"`
	// IsDefault marks the version requests without an Ashby-Version
	// header get (the newest active one).
	IsDefault bool `json:"isDefault"`
	// The lifecycle dates (YYYY-MM-DD) Ashby announces when it deprecates
	// a version; null until then.
	DeprecatedDate  *ashby.Date `json:"deprecatedDate"`
	UnsupportedDate *ashby.Date `json:"unsupportedDate"`
	RemovedDate     *ashby.Date `json:"removedDate"`
}

func (s *Service) versionEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.List[VersionInfo](rpc.Spec{Name: "version.list", Permission: ashby.APIKeysRead,
			Summary: "List the API versions this server serves and their lifecycle status."}, s.versionList),
	}
}

type versionListRequest struct{}

func (s *Service) versionList(ctx context.Context, c *rpc.Call, req *versionListRequest) (*rpc.Page, error) {
	return &rpc.Page{Items: []VersionInfo{{Version: rpc.APIVersion, Status: rpc.APIVersionStatus, IsDefault: true}}}, nil
}
