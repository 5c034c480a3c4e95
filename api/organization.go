package api

import (
	"context"
	"encoding/json"

	"github.com/ashlarhq/ashlar/ashby"
	"github.com/ashlarhq/ashlar/rpc"
	"github.com/ashlarhq/ashlar/store"
)

func init() { register((*Service).organizationEndpoints) }

func (s *Service) organizationEndpoints() []*rpc.Endpoint {
	return []*rpc.Endpoint{
		rpc.Object(rpc.Spec{Name: "apiKey.info", Permission: ashby.APIKeysRead, Summary: "The calling API key's title, creation time and scopes."}, s.apiKeyInfo),

		rpc.List[ashby.User](rpc.Spec{Name: "user.list", Permission: ashby.OrganizationRead, Summary: "List users."}, s.userList),
		rpc.Object(rpc.Spec{Name: "user.info", Permission: ashby.OrganizationRead, Summary: "Fetch a user."}, s.userInfo),
		rpc.Array[ashby.User](rpc.Spec{Name: "user.search", Permission: ashby.OrganizationRead, Summary: "Find a user by email."}, s.userSearch),
		rpc.Object(rpc.Spec{Name: "user.create", Permission: ashby.OrganizationWrite, Extension: true, Summary: "Create a user (Ashby does this in its web app)."}, s.userCreate),
		rpc.Object(rpc.Spec{Name: "user.update", Permission: ashby.OrganizationWrite, Extension: true, Summary: "Update a user's name, email, role, manager or enabled flag (Ashby does this in its web app)."}, s.userUpdate),

		rpc.Object(rpc.Spec{Name: "department.create", Permission: ashby.OrganizationWrite, Summary: "Create a department."}, s.departmentCreate),
		rpc.Object(rpc.Spec{Name: "department.info", Permission: ashby.OrganizationRead, Summary: "Fetch a department."}, s.departmentInfo),
		rpc.List[ashby.Department](rpc.Spec{Name: "department.list", Permission: ashby.OrganizationRead, Summary: "List departments."}, s.departmentList),
		rpc.Object(rpc.Spec{Name: "department.update", Permission: ashby.OrganizationWrite, Summary: "Update a department."}, s.departmentUpdate),
		rpc.Object(rpc.Spec{Name: "department.move", Permission: ashby.OrganizationWrite, Summary: "Move a department under another parent."}, s.departmentMove),
		rpc.Object(rpc.Spec{Name: "department.archive", Permission: ashby.OrganizationWrite, Summary: "Archive a department."}, s.departmentArchive(true)),
		rpc.Object(rpc.Spec{Name: "department.restore", Permission: ashby.OrganizationWrite, Summary: "Restore an archived department."}, s.departmentArchive(false)),

		rpc.Object(rpc.Spec{Name: "location.create", Permission: ashby.OrganizationWrite, Summary: "Create a location or location hierarchy."}, s.locationCreate),
		rpc.Object(rpc.Spec{Name: "location.info", Permission: ashby.OrganizationRead, Summary: "Fetch a location."}, s.locationInfo),
		rpc.List[ashby.Location](rpc.Spec{Name: "location.list", Permission: ashby.OrganizationRead, Summary: "List locations."}, s.locationList),
		rpc.Object(rpc.Spec{Name: "location.updateName", Permission: ashby.OrganizationWrite, Summary: "Rename a location."}, s.locationUpdateName),
		rpc.Object(rpc.Spec{Name: "location.updateExternalName", Permission: ashby.OrganizationWrite, Summary: "Set a location's external name."}, s.locationUpdateExternalName),
		rpc.Object(rpc.Spec{Name: "location.updateAddress", Permission: ashby.OrganizationWrite, Summary: "Set a location's address."}, s.locationUpdateAddress),
		rpc.Object(rpc.Spec{Name: "location.updateWorkplaceType", Permission: ashby.OrganizationWrite, Summary: "Set a location's workplace type."}, s.locationUpdateWorkplaceType),
		rpc.Object(rpc.Spec{Name: "location.move", Permission: ashby.OrganizationWrite, Summary: "Move a location under a location hierarchy."}, s.locationMove),
		rpc.Object(rpc.Spec{Name: "location.archive", Permission: ashby.OrganizationWrite, Summary: "Archive a location."}, s.locationArchive(true)),
		rpc.Object(rpc.Spec{Name: "location.restore", Permission: ashby.OrganizationWrite, Summary: "Restore an archived location."}, s.locationArchive(false)),
	}
}

type emptyRequest struct{}

func (s *Service) apiKeyInfo(ctx context.Context, c *rpc.Call, _ *emptyRequest) (rpc.Result[ashby.APIKeyInfo], error) {
	scopes := make([]string, len(c.Permissions))
	for i, p := range c.Permissions {
		scopes[i] = p.Scope()
	}
	return rpc.Value(&ashby.APIKeyInfo{Title: c.KeyTitle, CreatedAt: ashby.NewTime(c.KeyCreated), Scopes: scopes}), nil
}

// Users

type userListRequest struct {
	rpc.SyncParams
	IncludeDeactivated bool `json:"includeDeactivated,omitempty"`
}

func (s *Service) userList(ctx context.Context, c *rpc.Call, req *userListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Users.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeDeactivated
	return s.listPage(ctx, spec)
}

type userInfoRequest struct {
	UserID ashby.ID `json:"userId" required:"true"`
}

func (s *Service) userInfo(ctx context.Context, c *rpc.Call, req *userInfoRequest) (rpc.Result[ashby.User], error) {
	doc, err := Users.GetRaw(ctx, s.DB, c.Org(), string(req.UserID))
	if err != nil {
		return rpc.Result[ashby.User]{}, notFound(err, "user", "User not found")
	}
	return rpc.Raw[ashby.User](doc), nil
}

type userSearchRequest struct {
	Email string `json:"email" required:"true" maxLength:"email"`
}

func (s *Service) userSearch(ctx context.Context, c *rpc.Call, req *userSearchRequest) (*rpc.Page, error) {
	docs, err := Users.FindRaw(ctx, s.DB, c.Org(), store.Filter{Search: lc(req.Email), IncludeArchived: true, Limit: 100})
	if err != nil {
		return nil, err
	}
	return &rpc.Page{Raw: docs}, nil
}

type userCreateRequest struct {
	FirstName  string   `json:"firstName" required:"true"`
	LastName   string   `json:"lastName" required:"true"`
	Email      string   `json:"email" required:"true" maxLength:"email"`
	GlobalRole string   `json:"globalRole,omitempty" enum:"Organization Admin,Elevated Access,Limited Access,External Recruiter" doc:"Default Limited Access."`
	ManagerID  ashby.ID `json:"managerId,omitempty"`
}

func (s *Service) userCreate(ctx context.Context, c *rpc.Call, req *userCreateRequest) (rpc.Result[ashby.User], error) {
	if !validEmail(req.Email) {
		return rpc.Result[ashby.User]{}, ashby.InvalidInput("email", "Invalid email address %q", req.Email)
	}
	u := &ashby.User{ID: ashby.NewID(), FirstName: req.FirstName, LastName: req.LastName, Email: req.Email,
		GlobalRole: req.GlobalRole, IsEnabled: true, UpdatedAt: s.now(), ManagerID: string(req.ManagerID)}
	if u.GlobalRole == "" {
		u.GlobalRole = "Limited Access"
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		if existing, err := Users.Find(ctx, tx, c.Org(), store.Filter{Search: lc(req.Email), IncludeArchived: true, Limit: 1}); err != nil {
			return err
		} else if len(existing) > 0 {
			return ashby.Errorf("user_already_exists", "A user with email %s already exists", req.Email)
		}
		if req.ManagerID != "" {
			if _, err := mustShare(ctx, tx, Users, c.Org(), string(req.ManagerID), "user", "managerId"); err != nil {
				return err
			}
		}
		return Users.Put(ctx, tx, c.Org(), u)
	})
	if err != nil {
		return rpc.Result[ashby.User]{}, err
	}
	return rpc.Value(u), nil
}

type userUpdateRequest struct {
	UserID     ashby.ID `json:"userId" required:"true"`
	FirstName  string   `json:"firstName,omitempty"`
	LastName   string   `json:"lastName,omitempty"`
	Email      string   `json:"email,omitempty" maxLength:"email"`
	GlobalRole string   `json:"globalRole,omitempty" enum:"Organization Admin,Elevated Access,Limited Access,External Recruiter"`
	IsEnabled  *bool    `json:"isEnabled,omitempty"`
	ManagerID  ashby.ID `json:"managerId,omitempty"`
}

func (s *Service) userUpdate(ctx context.Context, c *rpc.Call, req *userUpdateRequest) (rpc.Result[ashby.User], error) {
	if req.Email != "" && !validEmail(req.Email) {
		return rpc.Result[ashby.User]{}, ashby.InvalidInput("email", "Invalid email address %q", req.Email)
	}
	var u *ashby.User
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		u, err = Users.Update(ctx, tx, c.Org(), string(req.UserID), func(u *ashby.User) error {
			if req.FirstName != "" {
				u.FirstName = req.FirstName
			}
			if req.LastName != "" {
				u.LastName = req.LastName
			}
			if req.Email != "" {
				u.Email = req.Email
			}
			// As in Ashby, people cannot change their own role or lock
			// themselves out: another admin has to.
			self := c.SessionID != "" && c.UserID == u.ID
			if self && req.GlobalRole != "" && req.GlobalRole != u.GlobalRole {
				return ashby.InvalidInput("globalRole", "You cannot change your own role; ask another Organization Admin")
			}
			if self && req.IsEnabled != nil && !*req.IsEnabled {
				return ashby.InvalidInput("isEnabled", "You cannot deactivate yourself; ask another Organization Admin")
			}
			if req.GlobalRole != "" {
				u.GlobalRole = req.GlobalRole
			}
			if req.IsEnabled != nil {
				u.IsEnabled = *req.IsEnabled
			}
			if req.ManagerID != "" {
				if req.ManagerID == req.UserID {
					return ashby.InvalidInput("managerId", "A user cannot be their own manager")
				}
				u.ManagerID = string(req.ManagerID)
			}
			u.UpdatedAt = s.now()
			return nil
		})
		if err != nil {
			return notFound(err, "user", "User not found")
		}
		return s.refreshUser(ctx, tx, c.Org(), u)
	})
	if err != nil {
		return rpc.Result[ashby.User]{}, err
	}
	return rpc.Value(u), nil
}

// Departments

type departmentCreateRequest struct {
	Name         string          `json:"name" required:"true"`
	ExternalName string          `json:"externalName,omitempty"`
	ParentID     ashby.ID        `json:"parentId,omitempty"`
	ExtraData    json.RawMessage `json:"extraData,omitempty"`
}

func (s *Service) departmentCreate(ctx context.Context, c *rpc.Call, req *departmentCreateRequest) (rpc.Result[ashby.Department], error) {
	if err := checkObject("extraData", req.ExtraData); err != nil {
		return rpc.Result[ashby.Department]{}, err
	}
	now := s.now()
	d := &ashby.Department{ID: ashby.NewID(), Name: req.Name, ExternalName: req.ExternalName, ParentID: string(req.ParentID),
		CreatedAt: now, UpdatedAt: now, ExtraData: nullToNil(req.ExtraData)}
	err := s.write(ctx, func(tx *store.Tx) error {
		if d.ParentID != "" {
			if _, err := mustExist(ctx, tx, Departments, c.Org(), d.ParentID, "department", "parentId"); err != nil {
				return err
			}
		}
		return Departments.Put(ctx, tx, c.Org(), d)
	})
	if err != nil {
		return rpc.Result[ashby.Department]{}, err
	}
	return rpc.Value(d), nil
}

type departmentIDRequest struct {
	DepartmentID ashby.ID `json:"departmentId" required:"true"`
}

func (s *Service) departmentInfo(ctx context.Context, c *rpc.Call, req *departmentIDRequest) (rpc.Result[ashby.Department], error) {
	doc, err := Departments.GetRaw(ctx, s.DB, c.Org(), string(req.DepartmentID))
	if err != nil {
		return rpc.Result[ashby.Department]{}, notFound(err, "department", "Department not found")
	}
	return rpc.Raw[ashby.Department](doc), nil
}

type includeArchivedListRequest struct {
	rpc.SyncParams
	IncludeArchived bool `json:"includeArchived,omitempty"`
}

func (s *Service) departmentList(ctx context.Context, c *rpc.Call, req *includeArchivedListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Departments.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchived
	return s.listPage(ctx, spec)
}

type departmentUpdateRequest struct {
	DepartmentID ashby.ID        `json:"departmentId" required:"true"`
	Name         string          `json:"name,omitempty"`
	ExternalName *string         `json:"externalName,omitempty"`
	ExtraData    json.RawMessage `json:"extraData,omitempty"`
}

func (s *Service) departmentUpdate(ctx context.Context, c *rpc.Call, req *departmentUpdateRequest) (rpc.Result[ashby.Department], error) {
	if err := checkObject("extraData", req.ExtraData); err != nil {
		return rpc.Result[ashby.Department]{}, err
	}
	return s.updateDepartment(ctx, c, string(req.DepartmentID), func(tx *store.Tx, d *ashby.Department) error {
		if req.Name != "" {
			d.Name = req.Name
		}
		if req.ExternalName != nil {
			d.ExternalName = *req.ExternalName
		}
		if req.ExtraData != nil {
			d.ExtraData = nullToNil(req.ExtraData)
		}
		return nil
	})
}

type departmentMoveRequest struct {
	DepartmentID ashby.ID `json:"departmentId" required:"true"`
	ParentID     ashby.ID `json:"parentId,omitempty" doc:"The new parent; omit to make it top-level."`
}

func (s *Service) departmentMove(ctx context.Context, c *rpc.Call, req *departmentMoveRequest) (rpc.Result[ashby.Department], error) {
	return s.updateDepartment(ctx, c, string(req.DepartmentID), func(tx *store.Tx, d *ashby.Department) error {
		// Walk up from the new parent: reaching the department itself would make a cycle.
		for p := string(req.ParentID); p != ""; {
			if p == d.ID {
				return ashby.InvalidInput("parentId", "A department cannot be moved under itself or one of its descendants")
			}
			parent, err := mustExist(ctx, tx, Departments, c.Org(), p, "department", "parentId")
			if err != nil {
				return err
			}
			p = parent.ParentID
		}
		d.ParentID = string(req.ParentID)
		return nil
	})
}

func (s *Service) departmentArchive(archive bool) func(context.Context, *rpc.Call, *departmentIDRequest) (rpc.Result[ashby.Department], error) {
	return func(ctx context.Context, c *rpc.Call, req *departmentIDRequest) (rpc.Result[ashby.Department], error) {
		return s.updateDepartment(ctx, c, string(req.DepartmentID), func(tx *store.Tx, d *ashby.Department) error {
			d.IsArchived = archive
			return nil
		})
	}
}

func (s *Service) updateDepartment(ctx context.Context, c *rpc.Call, id string, fn func(*store.Tx, *ashby.Department) error) (rpc.Result[ashby.Department], error) {
	var d *ashby.Department
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		d, err = Departments.Update(ctx, tx, c.Org(), id, func(d *ashby.Department) error {
			if err := fn(tx, d); err != nil {
				return err
			}
			d.UpdatedAt = s.now()
			return nil
		})
		return notFound(err, "department", "Department not found")
	})
	if err != nil {
		return rpc.Result[ashby.Department]{}, err
	}
	return rpc.Value(d), nil
}

// Locations

type locationCreateRequest struct {
	Name             string          `json:"name" required:"true"`
	Type             string          `json:"type" required:"true" enum:"Location,LocationHierarchy"`
	Address          *ashby.Address  `json:"address,omitempty"`
	ParentLocationID ashby.ID        `json:"parentLocationId,omitempty"`
	IsRemote         bool            `json:"isRemote,omitempty"`
	WorkplaceType    string          `json:"workplaceType,omitempty" enum:"OnSite,Hybrid,Remote"`
	ExternalName     string          `json:"externalName,omitempty"`
	ExtraData        json.RawMessage `json:"extraData,omitempty"`
}

func (s *Service) locationCreate(ctx context.Context, c *rpc.Call, req *locationCreateRequest) (rpc.Result[ashby.Location], error) {
	if err := checkObject("extraData", req.ExtraData); err != nil {
		return rpc.Result[ashby.Location]{}, err
	}
	l := &ashby.Location{ID: ashby.NewID(), Name: req.Name, Type: req.Type, Address: req.Address, ParentLocationID: string(req.ParentLocationID),
		IsRemote: req.IsRemote, WorkplaceType: req.WorkplaceType, ExternalName: req.ExternalName, ExtraData: nullToNil(req.ExtraData)}
	if l.IsRemote && l.WorkplaceType == "" {
		l.WorkplaceType = "Remote"
	}
	err := s.write(ctx, func(tx *store.Tx) error {
		if l.ParentLocationID != "" {
			if err := s.checkLocationParent(ctx, tx, c.Org(), l.ParentLocationID, "parentLocationId"); err != nil {
				return err
			}
		}
		return Locations.Put(ctx, tx, c.Org(), l)
	})
	if err != nil {
		return rpc.Result[ashby.Location]{}, err
	}
	return rpc.Value(l), nil
}

func (s *Service) checkLocationParent(ctx context.Context, q store.Q, org, id, field string) error {
	p, err := mustExist(ctx, q, Locations, org, id, "location", field)
	if err != nil {
		return err
	}
	if p.Type != "LocationHierarchy" {
		return ashby.InvalidInput(field, "The parent must be a location hierarchy (a region), not a location")
	}
	return nil
}

type locationIDRequest struct {
	LocationID ashby.ID `json:"locationId" required:"true"`
}

func (s *Service) locationInfo(ctx context.Context, c *rpc.Call, req *locationIDRequest) (rpc.Result[ashby.Location], error) {
	doc, err := Locations.GetRaw(ctx, s.DB, c.Org(), string(req.LocationID))
	if err != nil {
		return rpc.Result[ashby.Location]{}, notFound(err, "location", "Location not found")
	}
	return rpc.Raw[ashby.Location](doc), nil
}

type locationListRequest struct {
	rpc.SyncParams
	IncludeArchived          bool `json:"includeArchived,omitempty"`
	IncludeLocationHierarchy bool `json:"includeLocationHierarchy,omitempty"`
}

func (s *Service) locationList(ctx context.Context, c *rpc.Call, req *locationListRequest) (*rpc.Page, error) {
	spec := listSpec(c, Locations.Name, req.SyncParams)
	spec.Filter.IncludeArchived = req.IncludeArchived
	if !req.IncludeLocationHierarchy {
		spec.Conds = append(spec.Conds, store.Cond{SQL: "state = ?", Args: []any{"Location"}})
	}
	return s.listPage(ctx, spec)
}

type locationUpdateNameRequest struct {
	LocationID ashby.ID `json:"locationId" required:"true"`
	Name       string   `json:"name" required:"true"`
}

func (s *Service) locationUpdateName(ctx context.Context, c *rpc.Call, req *locationUpdateNameRequest) (rpc.Result[ashby.Location], error) {
	return s.updateLocation(ctx, c, string(req.LocationID), func(_ *store.Tx, l *ashby.Location) error { l.Name = req.Name; return nil })
}

type locationUpdateExternalNameRequest struct {
	LocationID   ashby.ID `json:"locationId" required:"true"`
	ExternalName string   `json:"externalName,omitempty" doc:"Omit or send an empty string to clear it."`
}

func (s *Service) locationUpdateExternalName(ctx context.Context, c *rpc.Call, req *locationUpdateExternalNameRequest) (rpc.Result[ashby.Location], error) {
	return s.updateLocation(ctx, c, string(req.LocationID), func(_ *store.Tx, l *ashby.Location) error { l.ExternalName = req.ExternalName; return nil })
}

type locationUpdateAddressRequest struct {
	LocationID ashby.ID       `json:"locationId" required:"true"`
	Address    *ashby.Address `json:"address" required:"true"`
}

func (s *Service) locationUpdateAddress(ctx context.Context, c *rpc.Call, req *locationUpdateAddressRequest) (rpc.Result[ashby.Location], error) {
	return s.updateLocation(ctx, c, string(req.LocationID), func(_ *store.Tx, l *ashby.Location) error { l.Address = req.Address; return nil })
}

type locationUpdateWorkplaceTypeRequest struct {
	LocationID    ashby.ID `json:"locationId" required:"true"`
	WorkplaceType string   `json:"workplaceType" required:"true" enum:"OnSite,Hybrid,Remote"`
}

func (s *Service) locationUpdateWorkplaceType(ctx context.Context, c *rpc.Call, req *locationUpdateWorkplaceTypeRequest) (rpc.Result[ashby.Location], error) {
	return s.updateLocation(ctx, c, string(req.LocationID), func(_ *store.Tx, l *ashby.Location) error {
		l.WorkplaceType = req.WorkplaceType
		l.IsRemote = req.WorkplaceType == "Remote"
		return nil
	})
}

type locationMoveRequest struct {
	LocationID                ashby.ID `json:"locationId" required:"true"`
	ParentLocationHierarchyID ashby.ID `json:"parentLocationHierarchyId" required:"true"`
}

func (s *Service) locationMove(ctx context.Context, c *rpc.Call, req *locationMoveRequest) (rpc.Result[ashby.Location], error) {
	return s.updateLocation(ctx, c, string(req.LocationID), func(tx *store.Tx, l *ashby.Location) error {
		for p := string(req.ParentLocationHierarchyID); p != ""; {
			if p == l.ID {
				return ashby.InvalidInput("parentLocationHierarchyId", "A location cannot be moved under itself")
			}
			parent, err := mustExist(ctx, tx, Locations, c.Org(), p, "location", "parentLocationHierarchyId")
			if err != nil {
				return err
			}
			if parent.Type != "LocationHierarchy" {
				return ashby.InvalidInput("parentLocationHierarchyId", "The parent must be a location hierarchy (a region), not a location")
			}
			p = parent.ParentLocationID
		}
		l.ParentLocationID = string(req.ParentLocationHierarchyID)
		return nil
	})
}

func (s *Service) locationArchive(archive bool) func(context.Context, *rpc.Call, *locationIDRequest) (rpc.Result[ashby.Location], error) {
	return func(ctx context.Context, c *rpc.Call, req *locationIDRequest) (rpc.Result[ashby.Location], error) {
		return s.updateLocation(ctx, c, string(req.LocationID), func(_ *store.Tx, l *ashby.Location) error { l.IsArchived = archive; return nil })
	}
}

func (s *Service) updateLocation(ctx context.Context, c *rpc.Call, id string, fn func(*store.Tx, *ashby.Location) error) (rpc.Result[ashby.Location], error) {
	var l *ashby.Location
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		l, err = Locations.Update(ctx, tx, c.Org(), id, func(l *ashby.Location) error { return fn(tx, l) })
		return notFound(err, "location", "Location not found")
	})
	if err != nil {
		return rpc.Result[ashby.Location]{}, err
	}
	return rpc.Value(l), nil
}

// checkObject rejects extraData-style fields that are not JSON objects.
func checkObject(field string, raw json.RawMessage) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ashby.InvalidInput(field, "Invalid value for %s: expected an object", field)
	}
	return nil
}

func nullToNil(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}
